/**
 * A key's state, decided in one place for the server (Check, TestKey, admin caller
 * authentication), the web console and the CLI: revoked, then disabled, then expired, the order
 * the contract checks them in, so a key that is both disabled and expired shows "disabled" where
 * Check answers API_KEY_DISABLED. This file imports nothing: the console's browser bundle uses it
 * as it is, and it reads the key through structural shapes that both a KeyRecord (Dates) and the
 * API's ApiKey (protobuf Timestamps) satisfy, so no caller converts a key to ask.
 */

/** An instant as a KeyRecord holds it (a Date) or as the API sends it (a protobuf Timestamp). */
export type Instant = Date | { readonly seconds: bigint; readonly nanos: number };

/** What a key's state is read from. */
export interface KeyStateFields {
  /** Set once the key is revoked. */
  readonly revokedAt?: Instant | null | undefined;
  readonly isActive: boolean;
  /** Unset for a key that never expires. */
  readonly expiresAt?: Instant | null | undefined;
}

export type KeyState = "active" | "revoked" | "disabled" | "expired";

export function keyState(key: KeyStateFields, nowMs: number): KeyState {
  // Unset (an API message's absent timestamp, a record's null) means never revoked: stored
  // records always carry revokedAt, and the stores' own "not revoked" filters read it the same way.
  if (key.revokedAt) return "revoked";
  if (!key.isActive) return "disabled";
  if (key.expiresAt && instantMs(key.expiresAt) <= nowMs) return "expired";
  return "active";
}

function instantMs(at: Instant): number {
  // As @bufbuild/protobuf's timestampMs rounds, without importing it into every caller's bundle.
  return at instanceof Date ? at.getTime() : Number(at.seconds) * 1000 + Math.round(at.nanos / 1_000_000);
}

/**
 * The static state of a key found by the hash of a presented secret: its state, or
 * API_KEY_INVALID when the secret is not (or no longer) one of the key's. A secret replaced by
 * RegenerateKey counts as unknown once its grace period is over.
 */
export type KeyStatus = "valid" | "API_KEY_INVALID" | "API_KEY_REVOKED" | "API_KEY_DISABLED" | "API_KEY_EXPIRED";

const STATUS_OF_STATE: Readonly<Record<KeyState, KeyStatus>> = {
  active: "valid",
  revoked: "API_KEY_REVOKED",
  disabled: "API_KEY_DISABLED",
  expired: "API_KEY_EXPIRED",
};

/** The hashes of the secrets a key answers to (a KeyRecord's). */
export interface KeySecrets {
  readonly secretHash: string;
  readonly previousSecret: { readonly hash: string; readonly expiresAt: Date } | null;
}

/**
 * Which of the key's secrets the hash is: its current one, the one RegenerateKey replaced while
 * its grace period lasts, or neither.
 */
export type SecretGeneration = "current" | "superseded" | "unknown";

export function secretGeneration(key: KeySecrets, presentedHash: string, nowMs: number): SecretGeneration {
  if (presentedHash === key.secretHash) return "current";
  const previous = key.previousSecret;
  return previous !== null && previous.hash === presentedHash && previous.expiresAt.getTime() > nowMs ? "superseded" : "unknown";
}

export function keyStatus(key: KeySecrets & KeyStateFields, presentedHash: string, nowMs: number): KeyStatus {
  if (secretGeneration(key, presentedHash, nowMs) === "unknown") return "API_KEY_INVALID";
  return STATUS_OF_STATE[keyState(key, nowMs)];
}
