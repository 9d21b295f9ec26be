/**
 * An index from strings to rows that keeps no string: each row is filed under a 30-bit code of its
 * string (a small integer, which a Map holds without allocating), and a lookup asks the table
 * whether a row filed under the code really has the string. Two strings share a code about once in
 * a billion pairs, so nearly every code names one row; the few that name more hold a short list.
 * The strings are the table's to keep (compactly: packed-text-column.ts), not the index's.
 */
export class RowsByCode {
  readonly #rows = new Map<number, number | number[]>();

  add(text: string, row: number): void {
    const code = codeOf(text);
    const filed = this.#rows.get(code);
    if (filed === undefined) this.#rows.set(code, row);
    else if (typeof filed === "number") this.#rows.set(code, [filed, row]);
    else filed.push(row);
  }

  delete(text: string, row: number): void {
    const code = codeOf(text);
    const filed = this.#rows.get(code);
    if (filed === row) this.#rows.delete(code);
    else if (Array.isArray(filed)) {
      const rest = filed.filter((other) => other !== row);
      this.#rows.set(code, rest.length === 1 ? rest[0]! : rest);
    }
  }

  /** The row filed under the text's code for which `has` says it holds the text. */
  find(text: string, has: (row: number) => boolean): number | undefined {
    const filed = this.#rows.get(codeOf(text));
    if (filed === undefined) return undefined;
    if (typeof filed === "number") return has(filed) ? filed : undefined;
    return filed.find(has);
  }
}

/** FNV-1a over the UTF-16 code units, cut to 30 bits: a small integer on every platform V8 runs on. */
export function codeOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash & 0x3fffffff;
}
