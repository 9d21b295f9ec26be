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
  return stateAt(Boolean(key.revokedAt), key.isActive, key.expiresAt ? instantMs(key.expiresAt) : null, nowMs);
}

/** keyState's rule on plain values; `expiresAtMs` null: never expires. */
function stateAt(revoked: boolean, isActive: boolean, expiresAtMs: number | null, nowMs: number): KeyState {
  if (revoked) return "revoked";
  if (!isActive) return "disabled";
  if (expiresAtMs !== null && expiresAtMs <= nowMs) return "expired";
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
  const previous = key.previousSecret;
  return generationAt(key.secretHash, previous?.hash ?? null, previous?.expiresAt.getTime() ?? null, presentedHash, nowMs);
}

/** secretGeneration's rule on plain values; `previousHash` null: no superseded secret. */
function generationAt(secretHash: string, previousHash: string | null, previousExpiresAtMs: number | null, presentedHash: string, nowMs: number): SecretGeneration {
  if (presentedHash === secretHash) return "current";
  return previousHash !== null && previousHash === presentedHash && previousExpiresAtMs! > nowMs ? "superseded" : "unknown";
}

export function keyStatus(key: KeySecrets & KeyStateFields, presentedHash: string, nowMs: number): KeyStatus {
  if (secretGeneration(key, presentedHash, nowMs) === "unknown") return "API_KEY_INVALID";
  return STATUS_OF_STATE[keyState(key, nowMs)];
}

/**
 * What keyStatus reads, as plain values: a key kept without its record and its Dates (Check's
 * key cache). Times in epoch milliseconds; null where the record has none.
 */
export interface KeyStatusFacts {
  readonly secretHash: string;
  readonly previousHash: string | null;
  readonly previousExpiresAtMs: number | null;
  readonly revoked: boolean;
  readonly isActive: boolean;
  readonly expiresAtMs: number | null;
}

/** keyStatus, by the same rules, for a key held as KeyStatusFacts. */
export function keyStatusOfFacts(key: KeyStatusFacts, presentedHash: string, nowMs: number): KeyStatus {
  if (generationAt(key.secretHash, key.previousHash, key.previousExpiresAtMs, presentedHash, nowMs) === "unknown") return "API_KEY_INVALID";
  return STATUS_OF_STATE[stateAt(key.revoked, key.isActive, key.expiresAtMs, nowMs)];
}
