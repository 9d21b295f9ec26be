import type { UsageRepository } from "../usage/usage-repository.js";
import type { AuditEvent, KeyRateLimit, KeyRecord, Organization, User } from "./types.js";

/**
 * The one storage interface. The embedded (memory) store and MongoDB implement it and pass the
 * same contract suite (test/store/contract.ts). Every method is atomic on its own: no caller
 * does read-modify-write across two calls to keep an invariant.
 */

/** How many keys may be held; revoked and deleted keys free their slot, disabled keys do not. */
export interface KeySlotLimits {
  organizationMax: number;
  userMax: number;
}

export type CreateKeyOutcome =
  | { ok: true; key: KeyRecord }
  | { ok: false; reason: "organization_limit" | "user_limit" };

/** Fields UpdateKey may change; absent fields stay as they are. */
export interface KeyPatch {
  name?: string;
  description?: string;
  scopes?: string[];
  allowIps?: string[];
  rateLimit?: KeyRateLimit | null;
  expiresAt?: Date | null;
  isActive?: boolean;
  ownerUserId?: string;
  updatedAt: Date;
}

export type UpdateKeyOutcome =
  | { ok: true; key: KeyRecord }
  | { ok: false; reason: "not_found" | "revoked" | "user_limit" };

export interface NewSecret {
  secretHash: string;
  keyPrefix: string;
  /**
   * Until when the secret being replaced keeps working; null ends it at once. The store takes
   * that secret's hash from the record in the same atomic update, so two racing rotations can
   * never leave a stale secret alive.
   */
  previousSecretExpiresAt: Date | null;
  updatedAt: Date;
}

export interface KeyListQuery {
  isActive?: boolean;
  /** Return keys whose id sorts after this one (ids sort by creation time). */
  afterId?: string;
  limit: number;
}

export interface KeyRepository {
  /** Inserts the key if the organization and the owner user both have a free slot. */
  create(key: KeyRecord, limits: KeySlotLimits): Promise<CreateKeyOutcome>;
  findById(organizationId: string, id: string): Promise<KeyRecord | null>;
  /** The key whose current or previous secret has this hash (grace expiry is the caller's check). */
  findByHash(secretHash: string): Promise<KeyRecord | null>;
  /** Keys of one organization in id (creation) order. */
  list(organizationId: string, query: KeyListQuery): Promise<KeyRecord[]>;
  /** Changing the owner takes a slot from the new owner (limits.userMax) and frees the old one. */
  update(organizationId: string, id: string, patch: KeyPatch, limits: KeySlotLimits): Promise<UpdateKeyOutcome>;
  /** Marks the key revoked once; a second call returns the record unchanged. Frees its slot. */
  revoke(organizationId: string, id: string, at: Date): Promise<KeyRecord | null>;
  /** Removes the key for good and returns what it was. Frees its slot if it held one. */
  delete(organizationId: string, id: string): Promise<KeyRecord | null>;
  /** Swaps in a new secret hash; null when the key is unknown or revoked. */
  replaceSecret(organizationId: string, id: string, next: NewSecret): Promise<KeyRecord | null>;
  /** Keys holding a slot (not revoked): the organization's, or one user's when ownerUserId is given. */
  countHoldingSlots(organizationId: string, ownerUserId?: string): Promise<number>;
  /** Total keys and active (enabled, not revoked) keys of an organization. */
  countByState(organizationId: string): Promise<{ total: number; active: number }>;
}

export interface OrganizationRepository {
  create(organization: Organization): Promise<void>;
  findById(id: string): Promise<Organization | null>;
  count(): Promise<number>;
}

export interface UserRepository {
  create(user: User): Promise<void>;
  findById(organizationId: string, id: string): Promise<User | null>;
  listByOrganization(organizationId: string): Promise<User[]>;
}

export interface AuditListQuery {
  keyId?: string;
  /** Return events whose id sorts before this one (newest first). */
  beforeId?: string;
  limit: number;
}

export interface AuditRepository {
  append(event: AuditEvent): Promise<void>;
  /** Newest first. */
  list(organizationId: string, query: AuditListQuery): Promise<AuditEvent[]>;
}

export interface Store {
  readonly kind: "memory" | "mongodb";
  readonly keys: KeyRepository;
  readonly organizations: OrganizationRepository;
  readonly users: UserRepository;
  readonly audit: AuditRepository;
  /** Usage per key and day, and per key since first use (src/usage/usage-repository.ts). */
  readonly usage: UsageRepository;
  /** Creates indexes and whatever else the store needs before it serves; throws on failure. */
  init(): Promise<void>;
  /** Resolves while the store answers; rejects when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
