import type { CounterRepair } from "./counter-repair.js";
import type { UsageRepository } from "./usage-repository.js";
import type { ReceiptRepository } from "./receipt-repository.js";
import type { KeyAsSeen } from "./key-as-seen.js";
import type { KeyBound } from "./key-bound.js";
import type { AuditEvent, KeyRateLimit, KeyRecord, Organization, SealedSecret, User, UserLimits, UserRole } from "../model/records.js";
import type { OrganizationSettings } from "../model/webhooks.js";
import type { WebhookRepository } from "./webhook-repository.js";
import type { DeletedKeyRepository } from "./deleted-key-repository.js";
import type { KeyListQuery } from "./key-list-query.js";
import type { ChangeLogRepository } from "./change-log-repository.js";
import type { IdentityRepository } from "./identity-repository.js";
import type { BudgetLeaseRepository } from "./budget-lease-repository.js";
import type { DebitedRequestRepository } from "./debited-request-repository.js";
import type { Credits, NamedLimit } from "../model/identities.js";

export type { KeyListOrder, KeyListQuery } from "./key-list-query.js";
export type { WebhookAttemptOutcome, WebhookEndpointPatch, WebhookRepository } from "./webhook-repository.js";
export type { ChangeLogEntry, ChangeLogRepository, ChangeLogStream, StoreChange } from "./change-log-repository.js";
export type { BudgetLease, BudgetLeaseRepository, BudgetLeaseRequest, BudgetUnit, ExplicitBudgetWindow } from "./budget-lease-repository.js";
export { EXPLICIT_WINDOW_RETENTION_MS } from "./budget-lease-repository.js";
export type { DebitedRequestRepository } from "./debited-request-repository.js";
export type { CreateIdentityOutcome, DeleteIdentityOutcome, IdentityListQuery, IdentityPatch, IdentityRepository, UpdateIdentityOutcome } from "./identity-repository.js";

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
  /** Replaces the named limits (an empty list: none). */
  limits?: NamedLimit[];
  /** Replaces the key's credits; null removes them. */
  credits?: Credits | null;
  /** Ties the key to this identity; null unties it. */
  identityId?: string | null;
  updatedAt: Date;
}

export type UpdateKeyOutcome =
  | { ok: true; key: KeyRecord }
  | { ok: false; reason: "not_found" | "revoked" | "user_limit" };

/** revokeUnlessLastHolder's answer: the key as revoke() gives it, or why it was not revoked. */
export type GuardedRevokeOutcome = { ok: true; key: KeyRecord } | { ok: false; reason: "not_found" | "last_holder" };

export interface NewSecret {
  secretHash: string;
  keyPrefix: string;
  /**
   * Until when the secret being replaced keeps working; null ends it at once. The store takes
   * that secret's hash from the record in the same atomic update, so two racing rotations can
   * never leave a stale secret alive.
   */
  previousSecretExpiresAt: Date | null;
  /** The new secret encrypted (recoverable keys); absent or null: none, the old one never survives. */
  encryptedSecret?: SealedSecret | null;
  /** The key's new expiry (a maximum key lifetime gives the new secret one); absent: it stays. */
  expiresAt?: Date;
  updatedAt: Date;
}

/** Where a walk of keys by expiry (listExpiringBetween) goes on from: the last key it had. */
export interface ExpiryCursor {
  expiresAt: Date;
  id: string;
}

export interface KeyRepository {
  /** Inserts the key if the organization and the owner user both have a free slot. */
  create(key: KeyRecord, limits: KeySlotLimits): Promise<CreateKeyOutcome>;
  findById(organizationId: string, id: string): Promise<KeyRecord | null>;
  /** The key whose current or previous secret has this hash (grace expiry is the caller's check). */
  findByHash(secretHash: string): Promise<KeyRecord | null>;
  /** Keys of one organization, filtered and in the order the query asks (id order by default). */
  list(organizationId: string, query: KeyListQuery): Promise<KeyRecord[]>;
  /*
   * The four writes below take an optional `seen` (key-as-seen.ts): given, they write only while
   * the key is still as seen, in the same atomic step, and otherwise throw KeyChangedError having
   * written nothing. An unknown key is reported as without it.
   */
  /** Changing the owner takes a slot from the new owner (limits.userMax) and frees the old one. */
  update(organizationId: string, id: string, patch: KeyPatch, limits: KeySlotLimits, seen?: KeyAsSeen): Promise<UpdateKeyOutcome>;
  /**
   * Marks the key revoked once and drops its sealed secret; a second call returns the record
   * unchanged. Frees its slot.
   */
  revoke(organizationId: string, id: string, at: Date, seen?: KeyAsSeen): Promise<KeyRecord | null>;
  /**
   * revoke(), except that the organization's last usable key holding `scope` (not revoked,
   * enabled, not expired at `at`) is refused ("last_holder"): two calls racing to revoke the last
   * two such keys never both win (both may lose; the caller can retry). A key already revoked
   * comes back as it is, like revoke().
   */
  revokeUnlessLastHolder(organizationId: string, id: string, scope: string, at: Date): Promise<GuardedRevokeOutcome>;
  /** Removes the key for good (kept in Store.deletedKeys, in the same step); returns what it was. Frees its slot if it held one. */
  delete(organizationId: string, id: string, seen?: KeyAsSeen): Promise<KeyRecord | null>;
  /**
   * Ends a rotation's grace period at `at` (the previous secret hashed `previousHash` stops working,
   * still found by its hash); null when the key has no such secret in its grace (rotated again, revoked).
   */
  endGracePeriod(organizationId: string, id: string, previousHash: string, at: Date): Promise<KeyRecord | null>;
  /** Swaps in a new secret hash; null when the key is unknown or revoked. */
  replaceSecret(organizationId: string, id: string, next: NewSecret, seen?: KeyAsSeen): Promise<KeyRecord | null>;
  /**
   * Brings every key `ownerUserId` owns in the organization within the bound, each in one atomic
   * write: scopes outside it taken off, a rate limit above it (or none) set to the bound per
   * minute, `updatedAt` set. Revoked keys and keys already within it are left as they are.
   * Returns the keys it changed, as they are now.
   */
  boundKeysOfOwner(organizationId: string, ownerUserId: string, bound: KeyBound, updatedAt: Date): Promise<KeyRecord[]>;
  /**
   * Usable keys (enabled, not revoked) of every organization whose expiry falls in (from, to], in
   * (expiresAt, id) order after a cursor of both, so a page is read from an index on expiry
   * alone: the webhook scheduler walks them for `key.expiring` and `key.expired`.
   */
  listExpiringBetween(from: Date, to: Date, query: { after?: ExpiryCursor; limit: number }): Promise<KeyRecord[]>;
  /**
   * Usable keys (enabled, not revoked) of one organization created before `before`, in id order
   * after a cursor: the candidates for disabling unused keys.
   */
  listUsableCreatedBefore(organizationId: string, before: Date, query: { afterId?: string; limit: number }): Promise<KeyRecord[]>;
  /** Keys holding a slot (not revoked): the organization's, or one user's when ownerUserId is given. */
  countHoldingSlots(organizationId: string, ownerUserId?: string): Promise<number>;
  /** Total keys and active (enabled, not revoked) keys of an organization. */
  countByState(organizationId: string): Promise<{ total: number; active: number }>;
  /**
   * Keys of every organization whose secret is sealed under an encryption key other than
   * `keyId`, in id order after a cursor (re-encryption walks them).
   */
  listSealedNotWith(keyId: string, query: { afterId?: string; limit: number }): Promise<KeyRecord[]>;
  /**
   * Replaces the sealed secret only while it is still the one sealed with `expectedNonce`, so a
   * RegenerateKey or revoke in between wins; false when it was not replaced.
   */
  replaceSealedSecret(organizationId: string, id: string, expectedNonce: string, next: SealedSecret): Promise<boolean>;
}

export interface OrganizationRepository {
  create(organization: Organization): Promise<void>;
  findById(id: string): Promise<Organization | null>;
  count(): Promise<number>;
  /** Sets the plan; the organization as it is now, or null when there is none with that id. */
  setPlan(id: string, plan: string): Promise<Organization | null>;
  /**
   * Sets the given settings (absent ones stay); the organization as it is now, or null when there
   * is none with that id.
   */
  updateSettings(id: string, patch: Partial<OrganizationSettings>): Promise<Organization | null>;
  /**
   * Organizations whose settings disable unused keys (disableUnusedKeysAfterDays > 0), in id
   * order after a cursor: the ones the unused-keys sweep visits (webhooks/schedule/unused-keys.ts).
   */
  listDisablingUnusedKeys(query: { afterId?: string; limit: number }): Promise<Organization[]>;
}

/** Limits to set (a value) or hand back to the plan (null); absent ones stay. */
export type UserLimitsPatch = { [K in keyof UserLimits]?: UserLimits[K] | null };

/** Fields UpdateUser may change; absent fields stay as they are. */
export interface UserPatch {
  name?: string;
  role?: UserRole;
  limits?: UserLimitsPatch;
}

/** Owners can only be removed or demoted while another owner remains. */
export type UserChangeOutcome = { ok: true; user: User } | { ok: false; reason: "not_found" | "last_owner" };

export interface UserListQuery {
  /** Return users whose id sorts after this one (ids sort by creation time). */
  afterId?: string;
  limit?: number;
}

export interface UserRepository {
  create(user: User): Promise<void>;
  findById(organizationId: string, id: string): Promise<User | null>;
  /** An organization's users in id (creation) order. */
  listByOrganization(organizationId: string, query?: UserListQuery): Promise<User[]>;
  /** Applies the patch; refuses to take the owner role from the organization's last owner. */
  update(organizationId: string, id: string, patch: UserPatch): Promise<UserChangeOutcome>;
  /** Removes the user and returns what it was; refuses to remove the organization's last owner. */
  remove(organizationId: string, id: string): Promise<UserChangeOutcome>;
}

export interface AuditListQuery {
  keyId?: string;
  action?: string;
  actorUserId?: string;
  actorKeyId?: string;
  /** Events at or after this time. */
  occurredFrom?: Date;
  /** Events before this time. */
  occurredBefore?: Date;
  /** Return events whose id sorts before this one (newest first). */
  beforeId?: string;
  limit: number;
}

export interface AuditRepository {
  append(event: AuditEvent): Promise<void>;
  /** Newest first. */
  list(organizationId: string, query: AuditListQuery): Promise<AuditEvent[]>;
}

/** The replicas leasing from the store, each known while it keeps announcing itself. */
export interface ReplicaRegistry {
  /**
   * Announces `holder` as live for the next `ttlMs` (store clock) and answers how many replicas
   * are live now, this one included.
   */
  announce(holder: string, ttlMs: number): Promise<number>;
  /** Forgets `holder` at once: it is stopping. */
  withdraw(holder: string): Promise<void>;
}

export interface Store {
  /** Names the store in logs. What keygate does with a store depends on the two properties below, never on its name. */
  readonly kind: "memory" | "mongodb";
  /**
   * Other processes (replicas, cluster workers) may use the same data at the same time, so their
   * key changes must be followed (the change log) and their requests counted with this process's
   * (shared rate-limit counts, monthly quotas). False for a store inside this process, which sees
   * every change and every request itself.
   */
  readonly sharedAcrossProcesses: boolean;
  /** The data outlives this process; false: everything is gone when keygate stops. */
  readonly persistent: boolean;
  readonly keys: KeyRepository;
  /** What is kept of deleted keys, for leak reports that name them (deleted-key-repository.ts). */
  readonly deletedKeys: DeletedKeyRepository;
  readonly organizations: OrganizationRepository;
  readonly users: UserRepository;
  readonly audit: AuditRepository;
  /** Usage per key and day, and per key since first use (src/store/usage-repository.ts). */
  readonly usage: UsageRepository;
  /** Cross-replica cache invalidation; the embedded store (one process) keeps nothing. */
  readonly changes: ChangeLogRepository;
  /** Rate-limit and quota budgets leased to the replicas that share the store. */
  readonly budgets: BudgetLeaseRepository;
  /** The replicas that lease, for sizing slices and sharing an outage allowance. */
  readonly replicas: ReplicaRegistry;
  /** Idempotency receipts: change RPCs' first answers, sealed (src/store/receipt-repository.ts). */
  readonly receipts: ReceiptRepository;
  /** Webhook endpoints and the outbox of their deliveries. */
  readonly webhooks: WebhookRepository;
  /** The organizations' identities, whose limits and credits their keys share. */
  readonly identities: IdentityRepository;
  /** Requests whose response-reported cost was debited, so none is debited twice (debited-request-repository.ts). */
  readonly debitedRequests: DebitedRequestRepository;
  /**
   * Runs `work` as one unit (src/store/unit-of-work.ts): the store writes it makes commit together
   * or not at all (a MongoDB transaction on a replica set; on a standalone mongod, which has no
   * transactions, they are made one by one), and `work` may run more than once when an attempt
   * loses a race, so it must not have effects outside the store: those go to afterCommit.
   * Inside a unit, a nested call joins it. An aborted `signal` (the caller's deadline) stops it
   * from starting another attempt.
   */
  atomically<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Runs `effect` once the current unit has committed (never for one that did not); at once outside a unit. */
  afterCommit(effect: () => void): void;
  /** Creates indexes and whatever else the store needs before it serves; throws on failure. */
  init(): Promise<void>;
  /**
   * Counts again what each stored counter counts (keys holding slots, per organization and per
   * owner; owners per organization), sets those that differ, deletes those that count nothing,
   * and reports what it corrected (src/store/counter-repair.ts). Each organization is one unit
   * (atomically), so a key or owner change made in a unit meanwhile never leaves a counter wrong.
   * A store whose counts cannot drift reports nothing.
   */
  repairCounters(): Promise<CounterRepair>;
  /**
   * Resolves while the store can serve key reads (during a MongoDB election too, while any member
   * answers); rejects when it cannot, or once `signal` aborts: the store then abandons the attempt,
   * so a server that stopped answering holds nothing open.
   */
  ping(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
