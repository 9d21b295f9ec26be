import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import {
  encryptionKeyId,
  parseEncryptionKey,
  SealedSecretError,
  SecretEncryption,
  secretEncryptionFrom,
} from "../../src/crypto/secret-encryption.js";
import { generateSecret } from "../../src/model/secret.js";

const KEY_ID = "key_01HZX3K4M5N6P7Q8R9S0T1V2W3";

describe("secret encryption (AES-256-GCM, key id as associated data)", () => {
  const current = randomBytes(32);
  const previous = randomBytes(32);
  const encryption = new SecretEncryption(current, [previous]);

  it("opens what it sealed, with a fresh nonce each time, naming the encryption key by fingerprint", () => {
    const secret = generateSecret("live");
    const first = encryption.seal(secret, KEY_ID);
    const second = encryption.seal(secret, KEY_ID);
    expect(encryption.open(first, KEY_ID)).toBe(secret);
    expect(first.nonce).not.toBe(second.nonce);
    expect(first.ciphertext).not.toBe(second.ciphertext);
    expect(Buffer.from(first.nonce, "base64url")).toHaveLength(12);
    expect(first).toMatchObject({ version: 1, keyId: encryptionKeyId(current) });
    expect(JSON.stringify(first)).not.toContain(secret.slice(8));
    expect(JSON.stringify(first)).not.toContain(current.toString("base64"));
  });

  it("refuses to open under another API key's id, after tampering, or under an unknown encryption key", () => {
    const sealed = encryption.seal(generateSecret("test"), KEY_ID);
    expect(() => encryption.open(sealed, "key_01HZX3K4M5N6P7Q8R9S0T1V2W4")).toThrow(SealedSecretError);
    const flipped = Buffer.from(sealed.ciphertext, "base64url");
    flipped[0] = flipped[0]! ^ 1;
    expect(() => encryption.open({ ...sealed, ciphertext: flipped.toString("base64url") }, KEY_ID)).toThrow(SealedSecretError);
    expect(() => encryption.open({ ...sealed, nonce: "AAAA" }, KEY_ID)).toThrow(SealedSecretError);
    const stranger = new SecretEncryption(randomBytes(32));
    expect(() => stranger.open(sealed, KEY_ID)).toThrow(/does not hold/);
    expect(stranger.canOpen(sealed.keyId)).toBe(false);
  });

  it("opens secrets sealed under the previous key and reseals them under the current one", () => {
    const secret = generateSecret("live");
    const old = new SecretEncryption(previous).seal(secret, KEY_ID);
    expect(encryption.canOpen(old.keyId)).toBe(true);
    expect(encryption.open(old, KEY_ID)).toBe(secret);
    const resealed = encryption.reseal(old, KEY_ID);
    expect(resealed.keyId).toBe(encryption.currentKeyId);
    expect(new SecretEncryption(current).open(resealed, KEY_ID)).toBe(secret);
  });
});

describe("KEYGATE_ENCRYPTION_KEY", () => {
  const base = { KEYGATE_PEPPER: "p".repeat(40) };

  it("accepts 32 bytes in standard or URL-safe base64, and is off when unset", () => {
    const key = randomBytes(32);
    expect(parseEncryptionKey(key.toString("base64"))).toEqual(key);
    expect(parseEncryptionKey(key.toString("base64url"))).toEqual(key);
    expect(loadConfig(base).encryptionKeys).toBeUndefined();
    expect(secretEncryptionFrom(loadConfig(base))).toBeUndefined();
    const config = loadConfig({ ...base, KEYGATE_ENCRYPTION_KEY: key.toString("base64"), KEYGATE_ENCRYPTION_KEY_PREVIOUS: ` ${randomBytes(32).toString("base64")} ` });
    expect(config.encryptionKeys?.current).toEqual(key);
    expect(config.encryptionKeys?.previous).toHaveLength(1);
    expect(secretEncryptionFrom(config)?.currentKeyId).toBe(encryptionKeyId(key));
  });

  it.each([
    ["too short", randomBytes(16).toString("base64")],
    ["too long", randomBytes(48).toString("base64")],
    ["not base64", "this is not a key, it is a sentence!"],
    ["a hex string of 32 bytes", randomBytes(32).toString("hex")],
  ])("stops the start when it is %s, naming the variable and never its value", (_case, value) => {
    let error: unknown;
    try {
      loadConfig({ ...base, KEYGATE_ENCRYPTION_KEY: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^KEYGATE_ENCRYPTION_KEY: /);
    expect((error as Error).message).not.toContain(value);
  });

  it("refuses a previous key without a current one, and a malformed previous key", () => {
    const good = randomBytes(32).toString("base64");
    expect(() => loadConfig({ ...base, KEYGATE_ENCRYPTION_KEY_PREVIOUS: good })).toThrow(/^KEYGATE_ENCRYPTION_KEY_PREVIOUS: /);
    expect(() => loadConfig({ ...base, KEYGATE_ENCRYPTION_KEY: good, KEYGATE_ENCRYPTION_KEY_PREVIOUS: "short" })).toThrow(
      /^KEYGATE_ENCRYPTION_KEY_PREVIOUS: /,
    );
  });
});
