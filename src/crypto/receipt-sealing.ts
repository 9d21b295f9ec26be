import { createHmac, hkdfSync } from "node:crypto";
import { AES_KEY_BYTES, aesGcmOpen, aesGcmSeal, type AesGcmSealed } from "./aes-gcm.js";

/**
 * Idempotency receipts keep a change RPC's first answer, which may carry a secret shown once
 * (CreateKey, RegenerateKey, CreateOrganization's owner key). The database alone must neither
 * read a receipt nor tie it to the header value a client sent, so:
 *  - a receipt is stored under an HMAC-SHA256 of (caller key id, idempotency key), keyed by a
 *    key derived from the pepper: without the pepper the id says nothing, and it differs for
 *    every caller key, so one caller can never reach another's receipt;
 *  - its contents are sealed with AES-256-GCM (aes-gcm.ts) under a key derived by HKDF-SHA256
 *    from the idempotency key (the input key material, which only the client keeps), salted
 *    with another key derived from the pepper and bound to the caller key id; the receipt id is
 *    the associated data, so contents copied onto another receipt do not open.
 * Reading one therefore takes the pepper and the idempotency key together.
 */

const LOOKUP_LABEL = "keygate idempotency receipt id v1";
const SALT_LABEL = "keygate idempotency receipt salt v1";
const HKDF_INFO = "keygate idempotency receipt contents v1";

/** One request's receipt: where it is stored, and how its contents are sealed and opened. */
export interface RequestReceipt {
  readonly id: string;
  seal(contents: Uint8Array): AesGcmSealed;
  /** The contents, or AesGcmOpenError when they are not this request's (or were altered). */
  open(sealed: AesGcmSealed): Buffer;
}

export class ReceiptSealing {
  readonly #lookupKey: Buffer;
  readonly #salt: Buffer;

  constructor(pepper: string) {
    this.#lookupKey = createHmac("sha256", pepper).update(LOOKUP_LABEL).digest();
    this.#salt = createHmac("sha256", pepper).update(SALT_LABEL).digest();
  }

  /**
   * The receipt of `callerKeyId`'s request sent with `idempotencyKey`. Neither holds a NUL (key
   * ids are `key_` and base32; idempotency keys printable ASCII), so joining them with one is
   * unambiguous.
   */
  forRequest(callerKeyId: string, idempotencyKey: string): RequestReceipt {
    const id = createHmac("sha256", this.#lookupKey).update(`${callerKeyId}\0${idempotencyKey}`).digest("base64url");
    const key = Buffer.from(hkdfSync("sha256", idempotencyKey, this.#salt, `${HKDF_INFO}\0${callerKeyId}`, AES_KEY_BYTES));
    return {
      id,
      seal: (contents) => aesGcmSeal(key, contents, id),
      open: (sealed) => aesGcmOpen(key, sealed, id),
    };
  }
}
