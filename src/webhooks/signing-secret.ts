import { randomBytes } from "node:crypto";

/**
 * A webhook endpoint's signing secret in the Standard Webhooks format: `whsec_` and the base64 of
 * 32 random bytes (the HMAC-SHA256 key; as long as the hash, as RFC 2104 advises). Receivers'
 * libraries take it as it is, prefix and all. It is shown once, when made or rotated; the store
 * keeps it sealed (crypto/signing-secret-sealing.ts).
 */

export const SIGNING_SECRET_PREFIX = "whsec_";
const SIGNING_KEY_BYTES = 32;

export function newSigningSecret(): string {
  return `${SIGNING_SECRET_PREFIX}${randomBytes(SIGNING_KEY_BYTES).toString("base64")}`;
}
