import type { AllowList } from "../net/ip-allow-list.js";
import { keyStatusOfFacts, type KeyStatus, type KeyStatusFacts } from "../model/key-state.js";
import type { PlanLimits } from "../limits/check-limits.js";
import type { Credits, NamedLimit } from "../model/identities.js";
import type { KeyRateLimit, KeyRecord } from "../model/records.js";
import type { ScopeSet } from "./scope-set.js";
import type { SharedKeyParts } from "./shared-key-parts.js";

/**
 * A key as Check's cache holds it: what Check reads and nothing else, made once when the key is
 * cached. No copy of the stored record (its name, description, prefix, owner, dates as Date
 * objects stay in the store); the parts many keys have alike are shared (SharedKeyParts, and the
 * organization's object, one per cached organization); what is the key's own is its id, its
 * secrets' hashes (the same strings the cache is keyed by), two status bits and its times as
 * numbers. Nothing is derived per Check: a Check reads fields and calls `status`.
 */

/** An organization as the cache holds it for its keys: one object per cached organization, shared by them. */
export interface KeyOrganization {
  readonly id: string;
  readonly plan: PlanLimits;
}

const ACTIVE = 1;
const REVOKED = 2;

export class CachedKey implements KeyStatusFacts {
  readonly id: string;
  readonly organization: KeyOrganization;
  readonly secretHash: string;
  /** The hash of the secret RegenerateKey replaced, while its grace lasts; null when there is none. */
  readonly previousHash: string | null;
  readonly previousExpiresAtMs: number | null;
  /** Null: never expires. */
  readonly expiresAtMs: number | null;
  /** When the record was last changed: a refresh never replaces a newer key with an older one. */
  readonly updatedAtMs: number;
  readonly scopes: ScopeSet;
  readonly allowList: AllowList;
  readonly rateLimit: Readonly<KeyRateLimit> | null;
  /** Named limits beside rateLimit; undefined when the key has none (most keys). */
  readonly limits: readonly NamedLimit[] | undefined;
  /** The identity whose limits this key spends too; undefined: none. */
  readonly identityId: string | undefined;
  /** The key's own credits; undefined: none (most keys). */
  readonly credits: Credits | undefined;
  readonly #bits: number;

  constructor(key: KeyRecord, organization: KeyOrganization, parts: SharedKeyParts) {
    this.id = key.id;
    this.organization = organization;
    this.secretHash = key.secretHash;
    this.previousHash = key.previousSecret?.hash ?? null;
    this.previousExpiresAtMs = key.previousSecret?.expiresAt.getTime() ?? null;
    this.expiresAtMs = key.expiresAt ? key.expiresAt.getTime() : null;
    this.updatedAtMs = key.updatedAt.getTime();
    this.scopes = parts.scopeSet(key.scopes);
    this.allowList = parts.allowList(key.allowIps);
    this.rateLimit = parts.rateLimit(key.rateLimit);
    this.limits = key.limits !== undefined && key.limits.length > 0 ? Object.freeze(key.limits.map((limit) => Object.freeze({ ...limit }))) : undefined;
    this.identityId = key.identityId;
    this.credits = key.credits;
    // As keyState reads them: a revokedAt of any value means revoked.
    this.#bits = (key.isActive ? ACTIVE : 0) | (key.revokedAt ? REVOKED : 0);
  }

  get organizationId(): string {
    return this.organization.id;
  }

  get plan(): PlanLimits {
    return this.organization.plan;
  }

  get isActive(): boolean {
    return (this.#bits & ACTIVE) !== 0;
  }

  get revoked(): boolean {
    return (this.#bits & REVOKED) !== 0;
  }

  /** keyStatus of the record this key was made from, for a secret that hashes to `presentedHash`. */
  status(presentedHash: string, nowMs: number): KeyStatus {
    return keyStatusOfFacts(this, presentedHash, nowMs);
  }
}
