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

export type { KeyListOrder, KeyListQuery } from "./key-list-query.js";
export type { WebhookAttemptOutcome, WebhookEndpointPatch, WebhookRepository } from "./webhook-repository.js";

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

/** What another replica must apply to its caches. */
export type StoreChange =
  /**
   * A key changed or disappeared: the hashes it could be found by before the change, and the key
   * as it is after it (null: deleted). The record never carries the key's sealed secret.
   */
  | { kind: "key"; hashes: string[]; key: KeyRecord | null }
  /** An organization's plan changed: every cached key of it carries the old plan. */
  | { kind: "organization"; organizationId: string }
  /** An identity's limits or credits changed, or it was deleted: replicas read it again when next needed. */
  | { kind: "identity"; organizationId: string; identityId: string };

export interface ChangeLogEntry {
  id: string;
  change: StoreChange;
}

/**
 * Entries pushed by the store as they are appended. Iterating throws when the stream breaks in a
 * way the driver could not resume; close() ends the iteration.
 */
export interface ChangeLogStream extends AsyncIterable<ChangeLogEntry> {
  close(): Promise<void>;
}

/**
 * The change log replicas share (src/cache/change-feed.ts). The store appends to it itself: every
 * write that changes what a Check decides (a key updated, disabled, revoked, deleted or rotated,
 * keys re-bounded, a plan changed) appends its entry in the same unit of work, so the change and
 * its entry commit together. Entries are stamped with the store's own clock, so replicas' clock
 * skew does not matter, and expire on their own after a while. A store used by one process
 * alone keeps no entries.
 */
export interface ChangeLogRepository {
  /** Entries stamped within the last `windowMs` of the store's clock, oldest first. */
  recent(windowMs: number): Promise<ChangeLogEntry[]>;
  /**
   * The entries appended from now on, as they are appended: every entry appended after the
   * promise resolves is delivered, and a few from just before may be too. Null when the store
   * cannot push them (a standalone mongod): then recent() is all there is. Optional, because
   * only a store shared by several processes has entries from others to push.
   */
  watch?(): Promise<ChangeLogStream | null>;
  /**
   * Calls `listener` whenever the store's members elect a new primary, until the returned function
   * is called. Optional: only a replicated store has elections. What the old primary acknowledged
   * becomes readable (majority-committed) again only once the new one commits in its term, a
   * moment after its election, so the feed polls briskly for a while then.
   */
  onNewPrimary?(listener: () => void): () => void;
}

/** How long a budget window lasts; windows start at whole units of the store's clock (UTC). */
export type BudgetUnit = "second" | "minute" | "hour" | "day" | "month";

/**
 * One replica's ask for units of a bucket's budget in the store's current window
 * (src/limits/leased-budgets.ts). The holder states what it believes it holds; the store moves the
 * holding only when it agrees, so a retried ask whose first try did land changes nothing, and the
 * answer tells the holder what it really holds.
 */
export interface BudgetLeaseRequest {
  bucket: string;
  unit: BudgetUnit;
  /** The bucket's limit as of now: units are granted only while the fleet's total stays within it. */
  limit: number;
  /** The asking replica: letters, digits, `-` and `_` only. */
  holder: string;
  /** Start of the window the holder believes it holds `held` in (store clock); null: none. */
  windowStartMs: number | null;
  /** What the holder believes it holds in that window. */
  held: number;
  /**
   * At least `held`: the holder admitted `floor - held` more without a lease (the store was out
   * of reach). If the window is still the store's current one, the holding is raised to `floor`
   * whatever the limit says: those requests were admitted, and they count.
   */
  floor: number;
  /** More units wanted, granted as far as the limit allows; negative: unused units given back. */
  want: number;
  /**
   * Grant nothing while the window is unseeded (see BudgetLease.unseeded): what was spent before
   * leasing began must count first (a monthly quota).
   */
  seedFirst?: boolean;
}

/** The holder's standing in the store's current window of a bucket, after its ask. */
export interface BudgetLease {
  bucket: string;
  windowStartMs: number;
  windowEndMs: number;
  /** The store's clock when it answered: windows follow it, never a replica's clock. */
  storeNowMs: number;
  /** What the holder holds in the window now. */
  held: number;
  /**
   * The store took the ask as stated (the belief matched). When not, nothing changed, and `held`
   * is what the holder had already been granted in the window (by an answer it lost, or by an
   * earlier life of its state): units it must take as used.
   */
  applied: boolean;
  /** What the whole fleet holds in the window (every holder's `held`). */
  granted: number;
  /** Replicas that have leased in the window (whatever they hold now), the asker included. */
  holders: number;
  /** The window was opened with no earlier window of the bucket to follow, and not yet seeded. */
  unseeded: boolean;
}

/** Budgets leased to replicas, one window per bucket at a time. */
export interface BudgetLeaseRepository {
  /** Answers every request, in order; the requests are independent and sent together. */
  lease(requests: BudgetLeaseRequest[]): Promise<BudgetLease[]>;
  /**
   * Adds `units` to an unseeded window's total, once (whoever seeds first): what the bucket
   * already spent in this window before its budget was leased (a monthly quota's usage so far).
   */
  seed(bucket: string, windowStartMs: number, units: number): Promise<void>;
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
