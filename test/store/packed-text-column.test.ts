import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { base64urlSha256, crockfordKeyId, PackedTextColumn, shortLatin1, type TextCodec } from "../../src/store/memory/packed-text-column.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Strings of the packed shapes, near misses of them, and anything at all. */
const keyIdLike = fc.oneof(
  fc.string({ unit: fc.constantFrom(...CROCKFORD), minLength: 26, maxLength: 26 }).map((chars) => `key_${chars}`),
  fc.string({ unit: fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefz_"), minLength: 25, maxLength: 27 }).map((chars) => `key_${chars}`),
  fc.string({ unit: fc.constantFrom(...CROCKFORD), minLength: 26, maxLength: 26 }).map((chars) => `usr_${chars}`),
  fc.constant(null).map(() => newId("key")),
  fc.string(),
);
const hashLike = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
  // The same bytes spelled otherwise (padding bits set, padded, standard alphabet) must come back as spelled.
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("base64url").slice(0, 42) + "B"),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("base64")),
  fc.string({ minLength: 43, maxLength: 43 }),
  fc.string(),
);

function roundTrips(codec: TextCodec, texts: fc.Arbitrary<string>): void {
  fc.assert(
    fc.property(fc.array(texts, { minLength: 1, maxLength: 40 }), (written) => {
      const column = new PackedTextColumn(codec, 1);
      column.grow(written.length);
      written.forEach((text, row) => column.set(row, text));
      written.forEach((text, row) => expect(column.get(row)).toBe(text));
      // Rewritten rows read the latest text, whichever way either was kept.
      written.forEach((text, row) => column.set(row, written[written.length - 1 - row]!));
      written.forEach((_, row) => expect(column.get(row)).toBe(written[written.length - 1 - row]));
    }),
  );
}

describe("PackedTextColumn", () => {
  it("gives back every key id exactly, packed or not", () => roundTrips(crockfordKeyId, keyIdLike));
  it("gives back every secret hash exactly, packed or not", () => roundTrips(base64urlSha256, hashLike));

  it("gives back every key prefix exactly, packed or not", () =>
    roundTrips(shortLatin1, fc.oneof(fc.string({ maxLength: 16 }), fc.string({ unit: "binary", maxLength: 16 }), fc.string({ unit: "grapheme-ascii", maxLength: 16 }))));

  it("packs the shapes it is for, and only their canonical spelling", () => {
    const packs = (codec: TextCodec, text: string): boolean => codec.encode(text, new Uint8Array(codec.width), 0);
    expect(packs(crockfordKeyId, newId("key"))).toBe(true);
    expect(packs(crockfordKeyId, "key_ZZZZZZZZZZZZZZZZZZZZZZZZZZ")).toBe(true);
    expect(packs(crockfordKeyId, "key_01arz3ndektsv4rrffq69g5fav")).toBe(false);
    expect(packs(crockfordKeyId, "key_01ARZ3NDEKTSV4RRFFQ69G5FAI")).toBe(false);
    const hash = Buffer.alloc(32, 7).toString("base64url");
    expect(packs(base64urlSha256, hash)).toBe(true);
    expect(packs(base64urlSha256, hash.slice(0, 42) + "x")).toBe(false);
    expect(packs(shortLatin1, "sk_live_abc1")).toBe(true);
    expect(packs(shortLatin1, "")).toBe(true);
    expect(packs(shortLatin1, "sk_live_abcdefgh")).toBe(false);
    expect(packs(shortLatin1, "sk_live_\u0100")).toBe(false);
  });
});
