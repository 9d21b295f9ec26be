import { hkdfSync } from "node:crypto";
import type { SealedSigningSecret } from "../model/webhooks.js";
import { AES_KEY_BYTES, aesGcmOpen, aesGcmSeal } from "./aes-gcm.js";

/**
 * Webhook signing secrets must be opened again for every delivery, so they are sealed, not
 * hashed: AES-256-GCM (aes-gcm.ts) under a key derived by HKDF-SHA256 from the pepper, so a copy
 * of the database alone signs nothing; the endpoint id is the associated data, so a secret
 * copied onto another endpoint's record does not open there. The pepper is required on every
 * replica already (KEYGATE_PEPPER), so this needs no key of its own; and the derivation's label
 * keeps this key apart from every other one made from the pepper.
 */

const HKDF_INFO = "keygate webhook signing secret v1";
const HKDF_SALT = Buffer.alloc(0);

export class SigningSecretSealing {
  readonly #key: Buffer;

  constructor(pepper: string) {
    this.#key = Buffer.from(hkdfSync("sha256", pepper, HKDF_SALT, HKDF_INFO, AES_KEY_BYTES));
  }

  seal(secret: string, endpointId: string): SealedSigningSecret {
    return aesGcmSeal(this.#key, Buffer.from(secret, "utf8"), endpointId);
  }

  /** The secret, or AesGcmOpenError (which says nothing of it) when it is not this endpoint's, was altered, or another pepper's. */
  open(sealed: SealedSigningSecret, endpointId: string): string {
    return aesGcmOpen(this.#key, sealed, endpointId).toString("utf8");
  }
}
