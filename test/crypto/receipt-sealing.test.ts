import { describe, expect, it } from "vitest";
import { AesGcmOpenError } from "../../src/crypto/aes-gcm.js";
import { ReceiptSealing } from "../../src/crypto/receipt-sealing.js";

const PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";
const CALLER = "key_01HZX3K4M5N6P7Q8R9S0T1V2W3";
const OTHER_CALLER = "key_01HZX3K4M5N6P7Q8R9S0T1V2W4";
const IDEMPOTENCY_KEY = "0f1e2d3c-retry-me";

describe("idempotency receipt sealing", () => {
  const sealing = new ReceiptSealing(PEPPER);
  const contents = Buffer.from("the first answer, sk_live_secret");

  it("finds the same receipt for the same caller and key, another for any other caller, key or pepper", () => {
    const { id } = sealing.forRequest(CALLER, IDEMPOTENCY_KEY);
    expect(sealing.forRequest(CALLER, IDEMPOTENCY_KEY).id).toBe(id);
    expect(new Set([
      id,
      sealing.forRequest(OTHER_CALLER, IDEMPOTENCY_KEY).id,
      sealing.forRequest(CALLER, `${IDEMPOTENCY_KEY}x`).id,
      new ReceiptSealing(`${PEPPER}x`).forRequest(CALLER, IDEMPOTENCY_KEY).id,
    ]).size).toBe(4);
    expect(id).not.toContain(IDEMPOTENCY_KEY);
    expect(id).not.toContain(CALLER);
  });

  it("opens what it sealed for the same caller and key only, never in the clear", () => {
    const receipt = sealing.forRequest(CALLER, IDEMPOTENCY_KEY);
    const sealed = receipt.seal(contents);
    expect(receipt.open(sealed)).toEqual(contents);
    expect(JSON.stringify(sealed)).not.toContain("sk_live_secret");
    expect(Buffer.from(sealed.ciphertext, "base64url").includes(contents)).toBe(false);
    expect(() => sealing.forRequest(OTHER_CALLER, IDEMPOTENCY_KEY).open(sealed)).toThrow(AesGcmOpenError);
    expect(() => sealing.forRequest(CALLER, `${IDEMPOTENCY_KEY}x`).open(sealed)).toThrow(AesGcmOpenError);
    expect(() => new ReceiptSealing(`${PEPPER}x`).forRequest(CALLER, IDEMPOTENCY_KEY).open(sealed)).toThrow(AesGcmOpenError);
  });

  it("refuses altered contents", () => {
    const receipt = sealing.forRequest(CALLER, IDEMPOTENCY_KEY);
    const sealed = receipt.seal(contents);
    const flipped = Buffer.from(sealed.ciphertext, "base64url");
    flipped[3] = flipped[3]! ^ 1;
    expect(() => receipt.open({ ...sealed, ciphertext: flipped.toString("base64url") })).toThrow(AesGcmOpenError);
  });
});
