import { LENGTH_DELIMITED, type WireReader } from "../rpc/protobuf-wire.js";

/**
 * map<string, string> entries of a CheckRequest as the lean decoder (check-request-decoder.ts)
 * reads them: with proto3 defaults, the last key and value of an entry winning, and, for the
 * request's headers, only the names Check reads kept, found without decoding the others.
 */

/** Names by their length (all ASCII), to find a key among them without decoding it. */
export type WantedNames = ReadonlyMap<number, readonly string[]>;

export function byLength(names: Iterable<string>): WantedNames {
  const map = new Map<number, string[]>();
  for (const name of names) {
    if (!/^[\x20-\x7e]+$/.test(name)) throw new Error(`not a printable ASCII header name: ${name}`);
    map.set(name.length, [...(map.get(name.length) ?? []), name]);
  }
  return map;
}

/**
 * A map<string, string> entry (its tag already read and checked) into `record`, with proto3
 * defaults and the last key and value of the entry winning. With `wanted`, only a key that is
 * one of those names is kept, compared as bytes (a kept key is the constant name itself).
 * Without a record (a peer's labels, which Check never reads) the entry is only checked.
 */
export function stringEntry(r: WireReader, end: number, record: { [key: string]: string } | undefined, wanted?: WantedNames): void {
  const entryEnd = r.delimitedEnd(end);
  let key: string | undefined = "";
  let valueStart = -1;
  let valueEnd = -1;
  while (r.pos < entryEnd) {
    const field = r.tag();
    const no = field >>> 3;
    if (no === 1) {
      r.expect(LENGTH_DELIMITED, field);
      const keyEnd = r.delimitedEnd(entryEnd);
      if (record === undefined) r.pos = keyEnd;
      else key = wanted === undefined ? r.text(keyEnd) : wantedName(r, wanted, keyEnd);
    } else if (no === 2) {
      r.expect(LENGTH_DELIMITED, field);
      valueEnd = r.delimitedEnd(entryEnd);
      valueStart = r.pos;
      r.pos = valueEnd;
    } else r.skip(field & 7, entryEnd);
  }
  if (record === undefined || key === undefined || (wanted !== undefined && key === "")) return;
  if (valueStart < 0) {
    record[key] = "";
    return;
  }
  const after = r.pos;
  r.pos = valueStart;
  record[key] = r.text(valueEnd);
  r.pos = after;
}

/** The wanted name the bytes up to `end` spell, or undefined; moves past them either way. */
function wantedName(r: WireReader, wanted: WantedNames, end: number): string | undefined {
  const start = r.pos;
  r.pos = end;
  const candidates = wanted.get(end - start);
  if (candidates === undefined) return undefined;
  const buf = r.buf;
  next: for (const name of candidates) {
    for (let i = 0; i < name.length; i++) if (buf[start + i] !== name.charCodeAt(i)) continue next;
    return name;
  }
  return undefined;
}
