/**
 * A column of strings that nearly always have one shape (a secret hash, a key id), kept as fixed-width
 * bytes: 32 bytes for a 43-character hash where a JavaScript string costs 64 and a pointer 8. A
 * string of another shape is kept as it is, aside, so any string round-trips exactly.
 */
export interface TextCodec {
  /** Bytes per row. */
  readonly width: number;
  /** Writes the text's bytes at `offset` and says true, or says false when the text has another shape. */
  encode(text: string, into: Uint8Array, offset: number): boolean;
  decode(from: Uint8Array, offset: number): string;
}

export class PackedTextColumn {
  readonly #codec: TextCodec;
  #bytes: Uint8Array;
  /** Present rows only, and only those whose text the codec could not pack. */
  readonly #unpacked = new Map<number, string>();

  constructor(codec: TextCodec, rows: number) {
    this.#codec = codec;
    this.#bytes = new Uint8Array(rows * codec.width);
  }

  set(row: number, text: string): void {
    if (this.#codec.encode(text, this.#bytes, row * this.#codec.width)) this.#unpacked.delete(row);
    else this.#unpacked.set(row, text);
  }

  get(row: number): string {
    return this.#unpacked.get(row) ?? this.#codec.decode(this.#bytes, row * this.#codec.width);
  }

  clear(row: number): void {
    this.#unpacked.delete(row);
  }

  /** Makes room for `rows` rows, keeping what is held. */
  grow(rows: number): void {
    const bytes = new Uint8Array(rows * this.#codec.width);
    bytes.set(this.#bytes);
    this.#bytes = bytes;
  }
}

/** HMAC-SHA-256 as unpadded base64url (src/model/secret.ts): 43 characters, 32 bytes. */
export const base64urlSha256: TextCodec = {
  width: 32,
  encode(text, into, offset) {
    if (text.length !== 43) return false;
    const bytes = Buffer.from(text, "base64url");
    // Only the canonical spelling: another one that decodes to the same bytes must not read back changed.
    if (bytes.length !== 32 || bytes.toString("base64url") !== text) return false;
    into.set(bytes, offset);
    return true;
  },
  decode(from, offset) {
    return Buffer.from(from.buffer, from.byteOffset + offset, 32).toString("base64url");
  },
};

/** Up to 15 characters below U+0100, after a length byte: a key prefix (12) in 16 bytes, against 32 and a pointer. */
export const shortLatin1: TextCodec = {
  width: 16,
  encode(text, into, offset) {
    if (text.length > 15) return false;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
    into[offset] = text.length;
    for (let i = 0; i < text.length; i++) into[offset + 1 + i] = text.charCodeAt(i);
    return true;
  },
  decode(from, offset) {
    return Buffer.from(from.buffer, from.byteOffset + offset + 1, from[offset]!).toString("latin1");
  },
};

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CROCKFORD_CODES = [...CROCKFORD].map((char) => char.charCodeAt(0));
const CROCKFORD_VALUE = new Map(CROCKFORD_CODES.map((code, value) => [code, value]));
const KEY_ID_PREFIX = "key_";
const ID_CHARS = 26;
/** 26 characters of 5 bits are 130 bits; 6 zero bits in front make 17 whole bytes. */
const LEADING_BITS = 6;
/** Where ids are spelled out before becoming strings; reused, since decoding runs on every read and comparison. */
const spelled = [...KEY_ID_PREFIX + "0".repeat(ID_CHARS)].map((char) => char.charCodeAt(0));

/**
 * A key id (src/model/ids.ts): `key_` then 26 Crockford base32 characters, five bits each, in 17
 * bytes, where the string costs 48 and a pointer 8. The bits are a stream read and written through
 * an accumulator of at most 12 bits, so every step is a small-integer operation.
 */
export const crockfordKeyId: TextCodec = {
  width: 17,
  encode(text, into, offset) {
    if (text.length !== KEY_ID_PREFIX.length + ID_CHARS || !text.startsWith(KEY_ID_PREFIX)) return false;
    let accumulator = 0;
    let bits = LEADING_BITS;
    let byte = offset;
    for (let char = KEY_ID_PREFIX.length; char < text.length; char++) {
      const digit = CROCKFORD_VALUE.get(text.charCodeAt(char));
      if (digit === undefined) return false;
      accumulator = (accumulator << 5) | digit;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        into[byte++] = accumulator >>> bits;
        accumulator &= (1 << bits) - 1;
      }
    }
    return true;
  },
  decode(from, offset) {
    let accumulator = from[offset]!;
    let bits = 8 - LEADING_BITS;
    let byte = offset + 1;
    for (let char = KEY_ID_PREFIX.length; char < spelled.length; char++) {
      if (bits < 5) {
        accumulator = (accumulator << 8) | from[byte++]!;
        bits += 8;
      }
      bits -= 5;
      spelled[char] = CROCKFORD_CODES[accumulator >>> bits]!;
      accumulator &= (1 << bits) - 1;
    }
    return String.fromCharCode.apply(null, spelled);
  },
};
