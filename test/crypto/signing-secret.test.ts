import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { AesGcmOpenError } from "../../src/crypto/aes-gcm.js";
import { SigningSecretSealing } from "../../src/crypto/signing-secret-sealing.js";
import { newSigningSecret } from "../../src/webhooks/signing-secret.js";

const PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";
const ENDPOINT = "whe_01HZX3K4M5N6P7Q8R9S0T1V2W3";
const OTHER_ENDPOINT = "whe_01HZX3K4M5N6P7Q8R9S0T1V2W4";

describe("newSigningSecret", () => {
  it("is whsec_ and the base64 of 32 random bytes, which standardwebhooks takes as it is", () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice("whsec_".length), "base64")).toHaveLength(32);
    expect(() => new Webhook(secret)).not.toThrow();
  });

  it("is a new one every time", () => {
    expect(new Set(Array.from({ length: 100 }, newSigningSecret)).size).toBe(100);
  });
});

describe("signing secret sealing", () => {
  const sealing = new SigningSecretSealing(PEPPER);
  const secret = newSigningSecret();

  it("opens what it sealed, for the same endpoint, and never holds it in the clear", () => {
    const sealed = sealing.seal(secret, ENDPOINT);
    expect(sealing.open(sealed, ENDPOINT)).toBe(secret);
    expect(new SigningSecretSealing(PEPPER).open(sealed, ENDPOINT)).toBe(secret);
    const stored = JSON.stringify(sealed);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(secret.slice("whsec_".length));
    expect(stored).not.toContain(Buffer.from(secret.slice("whsec_".length), "base64").toString("base64url"));
  });

  it("seals the same secret differently each time (a fresh nonce)", () => {
    expect(sealing.seal(secret, ENDPOINT).ciphertext).not.toBe(sealing.seal(secret, ENDPOINT).ciphertext);
  });

  it("does not open for another endpoint (copied onto its record) or under another pepper", () => {
    const sealed = sealing.seal(secret, ENDPOINT);
    expect(() => sealing.open(sealed, OTHER_ENDPOINT)).toThrow(AesGcmOpenError);
    expect(() => new SigningSecretSealing(`${PEPPER}x`).open(sealed, ENDPOINT)).toThrow(AesGcmOpenError);
  });

  it("does not open altered data, and its error says nothing of the secret", () => {
    const sealed = sealing.seal(secret, ENDPOINT);
    const bytes = Buffer.from(sealed.ciphertext, "base64url");
    bytes[0]! ^= 1;
    const error = (() => {
      try {
        sealing.open({ ...sealed, ciphertext: bytes.toString("base64url") }, ENDPOINT);
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AesGcmOpenError);
    expect(error?.message).not.toContain(secret);
  });
});
