import type { KeyRecord } from "./records.js";

/**
 * The static state of a key found by the hash of a presented secret, in the order the contract
 * checks it: revoked, disabled, expired. A secret replaced by RegenerateKey counts as unknown
 * once its grace period is over. Shared by Check, TestKey and admin caller authentication.
 */
export type KeyStatus = "valid" | "API_KEY_INVALID" | "API_KEY_REVOKED" | "API_KEY_DISABLED" | "API_KEY_EXPIRED";

/**
 * Which of the key's secrets the hash is: its current one, the one RegenerateKey replaced while
 * its grace period lasts, or neither.
 */
export type SecretGeneration = "current" | "superseded" | "unknown";

export function secretGeneration(key: KeyRecord, presentedHash: string, nowMs: number): SecretGeneration {
  if (presentedHash === key.secretHash) return "current";
  const previous = key.previousSecret;
  return previous !== null && previous.hash === presentedHash && previous.expiresAt.getTime() > nowMs ? "superseded" : "unknown";
}

export function keyStatus(key: KeyRecord, presentedHash: string, nowMs: number): KeyStatus {
  if (secretGeneration(key, presentedHash, nowMs) === "unknown") return "API_KEY_INVALID";
  if (key.revokedAt !== null) return "API_KEY_REVOKED";
  if (!key.isActive) return "API_KEY_DISABLED";
  if (key.expiresAt !== null && key.expiresAt.getTime() <= nowMs) return "API_KEY_EXPIRED";
  return "valid";
}
