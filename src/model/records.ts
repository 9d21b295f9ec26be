import type { OrganizationSettings } from "./webhooks.js";
import type { Environment } from "./secret.js";
import type { Credits, NamedLimit } from "./identities.js";
import type { RateLimitPeriod } from "./rate-limit-period.js";

/** The records keygate keeps. Stores hold these shapes; the admin API maps them to protobuf. */

export type KeyType = "user" | "shared";
export type { RateLimitPeriod } from "./rate-limit-period.js";
export type UserRole = "owner" | "admin" | "member";

export interface KeyRateLimit {
  limit: number;
  period: RateLimitPeriod;
}

/**
 * A recoverable key's secret, encrypted: AES-256-GCM under the encryption key `keyId` names,
 * with a random 12-byte nonce and the API key's id as associated data (src/crypto). Base64url.
 */
export interface SealedSecret {
  /** Format version; 1 is the only one so far. */
  version: 1;
  /** Which encryption key sealed it (a fingerprint of the key, never the key). */
  keyId: string;
  nonce: string;
  /** Ciphertext with the 16-byte GCM tag appended. */
  ciphertext: string;
}

/** The secret a RegenerateKey replaced, still accepted until expiresAt. */
export interface PreviousSecret {
  hash: string;
  expiresAt: Date;
}

export interface KeyRecord {
  id: string;
  organizationId: string;
  name: string;
  description: string;
  /** First 12 characters of the secret, e.g. `sk_live_abc1`. */
  keyPrefix: string;
  /** HMAC-SHA-256 of the secret; the secret itself is never stored. */
  secretHash: string;
  previousSecret: PreviousSecret | null;
  environment: Environment;
  keyType: KeyType;
  ownerUserId: string;
  scopes: string[];
  /** CIDRs as given; empty allows every address. */
  allowIps: string[];
  rateLimit: KeyRateLimit | null;
  /** Named limits beside `rateLimit` (which is the limit named `default`); absent: none. */
  limits?: NamedLimit[];
  /** The key's own credits; absent: the key spends none (its identity's may still apply). */
  credits?: Credits;
  /** The identity whose limits and credits this key shares; absent: none. */
  identityId?: string;
  isActive: boolean;
  revokedAt: Date | null;
  expiresAt: Date | null;
  createdAt: Date;
  /** Id of the key that created this one, or `bootstrap`. */
  createdBy: string;
  updatedAt: Date;
  /** Only on recoverable keys: the secret, encrypted. Dropped when the key is revoked. */
  encryptedSecret?: SealedSecret;
}

export interface Organization {
  id: string;
  name: string;
  plan: string;
  createdAt: Date;
  /** `platform`: the organization of platform operators (absent: an ordinary tenant). */
  kind?: "platform";
  /** Lifecycle and notification settings set by the organization; absent ones are the defaults (model/webhooks.ts). */
  settings?: Partial<OrganizationSettings>;
}

/** A user's own limits; each absent one is the plan's. They only ever narrow the plan. */
export interface UserLimits {
  maxKeys?: number;
  maxRateLimitPerMinute?: number;
  availableScopes?: string[];
  canCreateAdminKeys?: boolean;
}

export interface User {
  id: string;
  organizationId: string;
  name: string;
  role: UserRole;
  createdAt: Date;
  /** Absent: every limit is the plan's. */
  limits?: UserLimits;
}

export interface AuditEvent {
  id: string;
  organizationId: string;
  /** key.create, key.update, key.delete, key.revoke, key.regenerate, auth.failed, org.create, ... */
  action: string;
  actorKeyId: string;
  actorUserId: string;
  keyId: string;
  occurredAt: Date;
  /** What changed or why it failed; never a secret. */
  details: Record<string, string>;
}
