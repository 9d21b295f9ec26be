import { getTextEncoding } from "@bufbuild/protobuf/wire";

/**
 * The protobuf wire format's primitives (varints, tags, length-delimited fields, strings) for the
 * lean Check codec (src/authz/check-request-decoder.ts, check-response-encoder.ts), which
 * protobuf-es's BinaryReader and BinaryWriter cannot stand in for, for measured reasons:
 *  - reading, a message that leaves what the lean decoder handles (groups, bad tags, truncation)
 *    must be handed whole to protobuf-es, so every reader stops with one preallocated value,
 *    UNREADABLE, and reads strings exactly as protobuf-es decodes them;
 *  - writing runs backwards from the end of a scratch buffer, so a length-delimited field's
 *    length is known when its tag and length are written, with no fork/join per message.
 * As in protobuf-es, the position and the bytes live in a reader or writer instance, never in
 * module state: each codec owns its own.
 */

export const VARINT = 0;
export const FIXED64 = 1;
export const LENGTH_DELIMITED = 2;
export const FIXED32 = 5;

/** Thrown by a WireReader where it stops (the caller falls back); preallocated, no stack trace. */
export const UNREADABLE: unique symbol = Symbol("not readable by WireReader");

/** Thrown by a ReverseWriter when what is written does not fit its scratch buffer. */
export const FULL: unique symbol = Symbol("too big for the scratch buffer");

const NOTHING = Buffer.alloc(0);
const textEncoding = getTextEncoding();

/** Buffer's own method behind toString("latin1", start, end), without the argument checks. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/** Reads a message's fields from `buf` at `pos`; callers move `pos` past what they skip. */
export class WireReader {
  buf: Uint8Array = NOTHING;
  pos = 0;
  /** The same bytes as a Buffer, to read ASCII strings with its latin1Slice. */
  private latin1: Buffer = NOTHING;

  /** Starts reading `bytes` from their beginning. */
  reset(bytes: Uint8Array): void {
    this.buf = bytes;
    this.latin1 = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  /** Lets go of the bytes, so that a reader kept for the next message holds nothing of this one. */
  release(): void {
    this.buf = NOTHING;
    this.latin1 = NOTHING;
  }

  varint32(): number {
    const buf = this.buf;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= buf.length) throw UNREADABLE;
      const byte = buf[this.pos++]!;
      if (shift === 28 && byte > 0x0f) throw UNREADABLE;
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return result >>> 0;
    }
    throw UNREADABLE;
  }

  /** A varint of up to 10 bytes, as protobuf-es reads int64: two's complement, as a bigint. */
  int64(): bigint {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= buf.length) throw UNREADABLE;
      const byte = buf[this.pos++]!;
      if (i < 4) lo |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x70) >> 4;
      } else hi |= (byte & 0x7f) << (7 * i - 32);
      if (byte < 0x80) return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
    }
    throw UNREADABLE;
  }

  skipVarint(): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw UNREADABLE;
      if (this.buf[this.pos++]! < 0x80) return;
    }
    throw UNREADABLE;
  }

  /** The end of a length-delimited field whose length comes next. */
  delimitedEnd(limit: number): number {
    const length = this.varint32();
    const end = this.pos + length;
    if (end > limit) throw UNREADABLE;
    return end;
  }

  /** A tag: field number * 8 + wire type. Groups and invalid wire types are unreadable. */
  tag(): number {
    const value = this.varint32();
    const wireType = value & 7;
    if (value >>> 3 === 0 || (wireType !== VARINT && wireType !== FIXED64 && wireType !== LENGTH_DELIMITED && wireType !== FIXED32)) throw UNREADABLE;
    return value;
  }

  skip(wireType: number, limit: number): void {
    switch (wireType) {
      case VARINT:
        return this.skipVarint();
      case FIXED64:
        this.pos += 8;
        break;
      case FIXED32:
        this.pos += 4;
        break;
      default:
        this.pos = this.delimitedEnd(limit);
    }
    if (this.pos > limit) throw UNREADABLE;
  }

  /** A string up to `end` as protobuf-es decodes it: ASCII directly, anything else with its TextDecoder. */
  text(end: number): string {
    const buf = this.buf;
    const start = this.pos;
    this.pos = end;
    for (let i = start; i < end; i++) {
      if (buf[i]! > 0x7f) return textEncoding.decodeUtf8(buf.subarray(start, end));
    }
    return (this.latin1 as unknown as Latin1Slicer).latin1Slice(start, end);
  }

  /** Stops unless the tag `field` has this wire type (as protobuf-es refuses a declared field of another). */
  expect(wireType: number, field: number): void {
    if ((field & 7) !== wireType) throw UNREADABLE;
  }

  /** A string field whose tag `field` was just read. */
  string(field: number, end: number): string {
    this.expect(LENGTH_DELIMITED, field);
    return this.text(this.delimitedEnd(end));
  }

  /** Skips a declared field that is not kept, checking its wire type. */
  skipDeclared(field: number, wireType: number, end: number): void {
    this.expect(wireType, field);
    this.skip(wireType, end);
  }
}

/** The content of the one length-delimited field that `bytes` consist of. */
export function delimitedContent(bytes: Uint8Array): Uint8Array {
  const reader = new WireReader();
  reader.reset(bytes);
  reader.tag();
  const end = reader.delimitedEnd(bytes.length);
  return bytes.subarray(reader.pos, end);
}

/**
 * Writes a message backwards, from the end of its scratch buffer towards its start: write a
 * field's content, then delimited() puts its length and tag before it. `pos` is where the bytes
 * written so far begin; note it before a field's content to delimit the field.
 */
export class ReverseWriter {
  pos: number;
  private readonly scratch: Buffer;

  constructor(capacity: number) {
    this.scratch = Buffer.allocUnsafe(capacity);
    this.pos = capacity;
  }

  /** Starts a new message, forgetting what was written. */
  reset(): void {
    this.pos = this.scratch.length;
  }

  /** A copy of the bytes written since reset(). */
  finish(): Buffer {
    return Buffer.from(this.scratch.subarray(this.pos));
  }

  bytes(bytes: Uint8Array): void {
    if (this.pos < bytes.length) throw FULL;
    this.pos -= bytes.length;
    this.scratch.set(bytes, this.pos);
  }

  string(text: string): void {
    const scratch = this.scratch;
    // Ids, header names, numbers and codes are ASCII: one byte per character, copied directly.
    const n = text.length;
    if (n <= 64 && this.pos >= n) {
      const start = this.pos - n;
      let i = 0;
      for (; i < n; i++) {
        const code = text.charCodeAt(i);
        if (code > 0x7f) break;
        scratch[start + i] = code;
      }
      if (i === n) {
        this.pos = start;
        return;
      }
    }
    const length = Buffer.byteLength(text);
    if (this.pos < length) throw FULL;
    this.pos -= length;
    scratch.write(text, this.pos, length, "utf8");
  }

  /** Bytes kept as a latin1 string (one character per byte). */
  latin1(text: string): void {
    if (this.pos < text.length) throw FULL;
    this.pos -= text.length;
    this.scratch.write(text, this.pos, text.length, "latin1");
  }

  varint(value: number): void {
    let size = 1;
    while (size < 5 && value >= 2 ** (7 * size)) size++;
    if (this.pos < size) throw FULL;
    const start = (this.pos -= size);
    const scratch = this.scratch;
    let rest = value;
    for (let i = 0; i < size; i++) {
      scratch[start + i] = i < size - 1 ? (rest & 0x7f) | 0x80 : rest & 0x7f;
      rest = Math.floor(rest / 128);
    }
  }

  /** Makes the bytes written since the position `end` the content of length-delimited field `tag` (a one-byte tag). */
  delimited(tag: number, end: number): void {
    const length = end - this.pos;
    // Most fields of a CheckResponse are short: their length is one byte.
    if (length < 0x80 && this.pos >= 2) {
      this.scratch[--this.pos] = length;
      this.scratch[--this.pos] = tag;
      return;
    }
    this.varint(length);
    if (this.pos < 1) throw FULL;
    this.scratch[--this.pos] = tag;
  }

  /** A string field; protobuf-es leaves out empty ones (implicit presence). */
  stringField(tag: number, text: string): void {
    if (text === "") return;
    const end = this.pos;
    this.string(text);
    this.delimited(tag, end);
  }
}
