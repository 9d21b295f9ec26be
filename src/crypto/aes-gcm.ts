import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * AES-256-GCM as keygate seals everything it must be able to open again (recoverable secrets,
 * idempotency receipts): a fresh random 12-byte nonce per seal, so one key never reuses a nonce
 * in practice; associated data that binds the ciphertext to its place (a key id, a receipt id),
 * so a ciphertext copied elsewhere does not open; the 16-byte tag appended to the ciphertext.
 * Both encodings are base64url text, as records and documents hold them.
 */

export const AES_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = "aes-256-gcm";

export interface AesGcmSealed {
  nonce: string;
  /** Ciphertext with the GCM tag appended. */
  ciphertext: string;
}

/** What cannot be opened: altered, misplaced or malformed data, or the wrong key. Says nothing of either. */
export class AesGcmOpenError extends Error {
  override name = "AesGcmOpenError";
}

export function aesGcmSeal(key: Buffer, plaintext: Uint8Array, associatedData: string): AesGcmSealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { nonce: nonce.toString("base64url"), ciphertext: ciphertext.toString("base64url") };
}

/** The plaintext, or AesGcmOpenError. */
export function aesGcmOpen(key: Buffer, sealed: AesGcmSealed, associatedData: string): Buffer {
  const nonce = Buffer.from(sealed.nonce, "base64url");
  const data = Buffer.from(sealed.ciphertext, "base64url");
  if (nonce.length !== NONCE_BYTES || data.length < TAG_BYTES) throw new AesGcmOpenError("sealed data is malformed");
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(associatedData, "utf8"));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new AesGcmOpenError("sealed data does not authenticate (altered, misplaced, or another key's)");
  }
}
