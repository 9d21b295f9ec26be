/**
 * An index from strings to rows that keeps no string: each row is filed under a 30-bit code of its
 * string, and a lookup asks the table whether a row filed under the code really has the string
 * (two strings share a code about once in a billion pairs, and then both are found by asking).
 * The strings are the table's to keep (compactly: packed-text-column.ts), not the index's.
 *
 * An open-addressing table in two typed arrays (8 bytes a slot, at most three quarters full), where
 * a Map would spend about 37 bytes of heap an entry. Linear probing; a deletion shifts the entries
 * after it back, so no tombstones build up under churn.
 */
const INITIAL_SLOTS = 1024;
const MAX_LOAD = 0.75;
/** Marks an empty slot: slots hold row + 1. */
const EMPTY = 0;

export class RowsByCode {
  #codes = new Int32Array(INITIAL_SLOTS);
  #rows = new Int32Array(INITIAL_SLOTS);
  #mask = INITIAL_SLOTS - 1;
  #count = 0;

  add(text: string, row: number): void {
    if (this.#count + 1 > this.#rows.length * MAX_LOAD) this.#grow();
    this.#place(codeOf(text), row + 1);
    this.#count++;
  }

  delete(text: string, row: number): void {
    const code = codeOf(text);
    for (let slot = code & this.#mask; this.#rows[slot] !== EMPTY; slot = (slot + 1) & this.#mask) {
      if (this.#rows[slot] === row + 1 && this.#codes[slot] === code) {
        this.#shiftBackInto(slot);
        this.#count--;
        return;
      }
    }
  }

  /** The row filed under the text's code for which `has` says it holds the text. */
  find(text: string, has: (row: number) => boolean): number | undefined {
    const code = codeOf(text);
    for (let slot = code & this.#mask; this.#rows[slot] !== EMPTY; slot = (slot + 1) & this.#mask) {
      if (this.#codes[slot] === code && has(this.#rows[slot]! - 1)) return this.#rows[slot]! - 1;
    }
    return undefined;
  }

  #place(code: number, filed: number): void {
    let slot = code & this.#mask;
    while (this.#rows[slot] !== EMPTY) slot = (slot + 1) & this.#mask;
    this.#codes[slot] = code;
    this.#rows[slot] = filed;
  }

  /** Empties `hole`, moving back each later entry of the run that its probe from home would no longer reach. */
  #shiftBackInto(hole: number): void {
    for (let slot = (hole + 1) & this.#mask; this.#rows[slot] !== EMPTY; slot = (slot + 1) & this.#mask) {
      const home = this.#codes[slot]! & this.#mask;
      // The entry may fill the hole when the hole lies on its way from home (home .. slot, cyclically).
      if (((slot - home) & this.#mask) >= ((slot - hole) & this.#mask)) {
        this.#codes[hole] = this.#codes[slot]!;
        this.#rows[hole] = this.#rows[slot]!;
        hole = slot;
      }
    }
    this.#rows[hole] = EMPTY;
  }

  #grow(): void {
    const codes = this.#codes;
    const rows = this.#rows;
    this.#codes = new Int32Array(codes.length * 2);
    this.#rows = new Int32Array(rows.length * 2);
    this.#mask = this.#rows.length - 1;
    for (let slot = 0; slot < rows.length; slot++) if (rows[slot] !== EMPTY) this.#place(codes[slot]!, rows[slot]!);
  }
}

/**
 * FNV-1a over the UTF-16 code units, mixed (MurmurHash3's finaliser, so the low bits that pick a
 * slot depend on every character) and cut to 30 bits.
 */
export function codeOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash & 0x3fffffff;
}
