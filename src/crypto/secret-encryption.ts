import { createHash } from "node:crypto";
import type { SealedSecret } from "../model/records.js";
import { AES_KEY_BYTES, aesGcmOpen, aesGcmSeal, AesGcmOpenError } from "./aes-gcm.js";

/**
 * Recoverable keys keep their secret sealed with AES-256-GCM (aes-gcm.ts):
 *  - the encryption key is 32 bytes (KEYGATE_ENCRYPTION_KEY, base64);
 *  - the API key's id is the associated data, so a ciphertext copied onto another key's record
 *    does not open;
 *  - the record names the encryption key by a fingerprint (`keyId`), so during a rotation the
 *    server opens secrets sealed under the previous key while it seals new ones under the current.
 * Nothing here logs, and errors never carry a secret or key material.
 */

export const ENCRYPTION_KEY_BYTES = AES_KEY_BYTES;
const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

/** A 32-byte key from standard or URL-safe base64; the Error says what is wrong, never the value. */
export function parseEncryptionKey(text: string): Buffer {
  const trimmed = text.trim();
  if (!BASE64.test(trimmed)) {
    throw new Error("must be base64 of 32 random bytes (for example `openssl rand -base64 32`)");
  }
  const key = Buffer.from(trimmed, trimmed.includes("-") || trimmed.includes("_") ? "base64url" : "base64");
  if (key.length !== ENCRYPTION_KEY_BYTES) {
    throw new Error(`must decode to ${ENCRYPTION_KEY_BYTES} bytes, got ${key.length} (for example \`openssl rand -base64 32\`)`);
  }
  return key;
}

/** A fingerprint naming an encryption key in records and logs; it reveals nothing of the key. */
export function encryptionKeyId(key: Buffer): string {
  return createHash("sha256").update("keygate encryption key id\0").update(key).digest("base64url").slice(0, 16);
}

/** A sealed secret that cannot be opened: unknown encryption key, or altered or misplaced data. */
export class SealedSecretError extends Error {
  override name = "SealedSecretError";
}

export class SecretEncryption {
  readonly currentKeyId: string;
  readonly #current: Buffer;
  readonly #keys: ReadonlyMap<string, Buffer>;

  /** Seals under `current`; opens what `current` or any of `previous` sealed. */
  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== ENCRYPTION_KEY_BYTES) throw new Error(`an encryption key must be ${ENCRYPTION_KEY_BYTES} bytes`);
    }
    this.#current = Buffer.from(current);
    this.currentKeyId = encryptionKeyId(current);
    this.#keys = new Map([...previous, current].map((key) => [encryptionKeyId(key), Buffer.from(key)]));
  }

  /** True when this server holds the encryption key that sealed under `keyId`. */
  canOpen(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  seal(secret: string, apiKeyId: string): SealedSecret {
    return { version: 1, keyId: this.currentKeyId, ...aesGcmSeal(this.#current, Buffer.from(secret, "utf8"), apiKeyId) };
  }

  /** The secret, or SealedSecretError when it cannot be opened for this API key. */
  open(sealed: SealedSecret, apiKeyId: string): string {
    if (sealed.version !== 1) throw new SealedSecretError(`sealed secret version ${String(sealed.version)} is not known`);
    const key = this.#keys.get(sealed.keyId);
    if (!key) throw new SealedSecretError(`sealed under encryption key ${sealed.keyId}, which this server does not hold`);
    try {
      return aesGcmOpen(key, sealed, apiKeyId).toString("utf8");
    } catch (error) {
      if (!(error instanceof AesGcmOpenError)) throw error;
      throw new SealedSecretError(`sealed secret cannot be opened for this API key: ${error.message}`);
    }
  }

  /** Opens under whichever key sealed it and seals again under the current one (rotation). */
  reseal(sealed: SealedSecret, apiKeyId: string): SealedSecret {
    return this.seal(this.open(sealed, apiKeyId), apiKeyId);
  }
}

/** The configured encryption, or undefined when the server has no encryption key (no recoverable keys). */
export function secretEncryptionFrom(config: { encryptionKeys: { current: Buffer; previous: Buffer[] } | undefined }): SecretEncryption | undefined {
  const keys = config.encryptionKeys;
  return keys && new SecretEncryption(keys.current, keys.previous);
}
