import type {
  AuditListQuery,
  AuditRepository,
  ChangeLogRepository,
  CreateKeyOutcome,
  GuardedRevokeOutcome,
  KeyListQuery,
  KeyPatch,
  KeyRepository,
  KeySlotLimits,
  NewSecret,
  OrganizationRepository,
  RateLimitCounterRepository,
  RateLimitSlotCount,
  RateLimitSlotIncrement,
  Store,
  UpdateKeyOutcome,
  UserChangeOutcome,
  UserListQuery,
  UserPatch,
  UserRepository,
} from "../store.js";
import type { AuditEvent, KeyRecord, Organization, SealedSecret, User } from "../../model/records.js";
import { isAsSeen, KeyChangedError, type KeyAsSeen } from "../key-as-seen.js";
import { boundedFields, type KeyBound } from "../key-bound.js";
import { isUsableHolder } from "../usable-holder.js";
import { patchedLimits } from "../user-limits-patch.js";
import { MemoryUsageRepository } from "./usage-repository.js";

/**
 * The embedded default store: everything in process memory, nothing persisted. Each method runs
 * to completion without awaiting, so on Node's single thread every method is atomic.
 */

const copy = <T>(value: T): T => structuredClone(value);

/** Inserts into an ascending array of ids, keeping it sorted. */
function insertSorted(ids: string[], id: string): void {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (ids[mid]! < id) low = mid + 1;
    else high = mid;
  }
  ids.splice(low, 0, id);
}

function firstIndexAfter(ids: string[], id: string): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (ids[mid]! <= id) low = mid + 1;
    else high = mid;
  }
  return low;
}

const holdsSlot = (key: KeyRecord): boolean => key.revokedAt === null;

class MemoryKeyRepository implements KeyRepository {
  readonly #byId = new Map<string, KeyRecord>();
  readonly #idByHash = new Map<string, string>();
  readonly #idsByOrganization = new Map<string, string[]>();

  /** Slots held, by organization id and by `organizationId/userId`. */
  readonly #slots = new Map<string, number>();

  #slotsHeld(organizationId: string, ownerUserId?: string): number {
    return this.#slots.get(ownerUserId === undefined ? organizationId : `${organizationId}/${ownerUserId}`) ?? 0;
  }

  #moveSlot(key: KeyRecord, delta: 1 | -1): void {
    for (const counter of [key.organizationId, `${key.organizationId}/${key.ownerUserId}`]) {
      this.#slots.set(counter, (this.#slots.get(counter) ?? 0) + delta);
    }
  }

  #get(organizationId: string, id: string): KeyRecord | undefined {
    const key = this.#byId.get(id);
    return key && key.organizationId === organizationId ? key : undefined;
  }

  /** The key, when there is one, if still as the caller saw it: checked in the same synchronous step as the write. */
  #getAsSeen(organizationId: string, id: string, seen: KeyAsSeen | undefined): KeyRecord | undefined {
    const key = this.#get(organizationId, id);
    if (key && seen && !isAsSeen(key, seen)) throw new KeyChangedError(id);
    return key;
  }

  async create(key: KeyRecord, limits: KeySlotLimits): Promise<CreateKeyOutcome> {
    if (this.#slotsHeld(key.organizationId) >= limits.organizationMax) return { ok: false, reason: "organization_limit" };
    if (this.#slotsHeld(key.organizationId, key.ownerUserId) >= limits.userMax) return { ok: false, reason: "user_limit" };
    if (this.#byId.has(key.id) || this.#idByHash.has(key.secretHash)) throw new Error("duplicate key id or secret hash");
    const stored = copy(key);
    this.#byId.set(stored.id, stored);
    this.#idByHash.set(stored.secretHash, stored.id);
    let ids = this.#idsByOrganization.get(stored.organizationId);
    if (!ids) this.#idsByOrganization.set(stored.organizationId, (ids = []));
    insertSorted(ids, stored.id);
    if (holdsSlot(stored)) this.#moveSlot(stored, 1);
    return { ok: true, key: copy(stored) };
  }

  async findById(organizationId: string, id: string): Promise<KeyRecord | null> {
    const key = this.#get(organizationId, id);
    return key ? copy(key) : null;
  }

  async findByHash(secretHash: string): Promise<KeyRecord | null> {
    const id = this.#idByHash.get(secretHash);
    const key = id === undefined ? undefined : this.#byId.get(id);
    return key ? copy(key) : null;
  }

  async list(organizationId: string, query: KeyListQuery): Promise<KeyRecord[]> {
    const ids = this.#idsByOrganization.get(organizationId) ?? [];
    const page: KeyRecord[] = [];
    for (let i = query.afterId === undefined ? 0 : firstIndexAfter(ids, query.afterId); i < ids.length; i++) {
      const key = this.#byId.get(ids[i]!)!;
      if (query.isActive !== undefined && key.isActive !== query.isActive) continue;
      if (query.ownerUserId !== undefined && key.ownerUserId !== query.ownerUserId) continue;
      page.push(copy(key));
      if (page.length === query.limit) break;
    }
    return page;
  }

  async update(organizationId: string, id: string, patch: KeyPatch, limits: KeySlotLimits, seen?: KeyAsSeen): Promise<UpdateKeyOutcome> {
    const key = this.#getAsSeen(organizationId, id, seen);
    if (!key) return { ok: false, reason: "not_found" };
    if (key.revokedAt !== null) return { ok: false, reason: "revoked" };
    if (
      patch.ownerUserId !== undefined &&
      patch.ownerUserId !== key.ownerUserId &&
      this.#slotsHeld(organizationId, patch.ownerUserId) >= limits.userMax
    ) {
      return { ok: false, reason: "user_limit" };
    }
    this.#moveSlot(key, -1);
    for (const [field, value] of Object.entries(patch)) {
      if (value !== undefined) (key as unknown as Record<string, unknown>)[field] = copy(value);
    }
    this.#moveSlot(key, 1);
    return { ok: true, key: copy(key) };
  }

  async revoke(organizationId: string, id: string, at: Date, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    const key = this.#getAsSeen(organizationId, id, seen);
    if (!key) return null;
    if (key.revokedAt === null) {
      this.#moveSlot(key, -1);
      delete key.encryptedSecret;
      key.revokedAt = new Date(at);
      key.isActive = false;
      key.updatedAt = new Date(at);
    }
    return copy(key);
  }

  async revokeUnlessLastHolder(organizationId: string, id: string, scope: string, at: Date): Promise<GuardedRevokeOutcome> {
    const key = this.#get(organizationId, id);
    if (!key) return { ok: false, reason: "not_found" };
    if (isUsableHolder(key, scope, at)) {
      const another = (this.#idsByOrganization.get(organizationId) ?? []).some((other) => other !== id && isUsableHolder(this.#byId.get(other)!, scope, at));
      if (!another) return { ok: false, reason: "last_holder" };
    }
    return { ok: true, key: (await this.revoke(organizationId, id, at))! };
  }

  async delete(organizationId: string, id: string, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    const key = this.#getAsSeen(organizationId, id, seen);
    if (!key) return null;
    if (holdsSlot(key)) this.#moveSlot(key, -1);
    this.#byId.delete(id);
    this.#idByHash.delete(key.secretHash);
    if (key.previousSecret) this.#idByHash.delete(key.previousSecret.hash);
    const ids = this.#idsByOrganization.get(organizationId)!;
    ids.splice(firstIndexAfter(ids, id) - 1, 1);
    return copy(key);
  }

  async replaceSecret(organizationId: string, id: string, next: NewSecret, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    const key = this.#getAsSeen(organizationId, id, seen);
    if (!key || key.revokedAt !== null) return null;
    if (this.#idByHash.has(next.secretHash)) throw new Error("duplicate secret hash");
    // Only one previous secret is kept: the one two rotations back stops working now.
    if (key.previousSecret) this.#idByHash.delete(key.previousSecret.hash);
    if (next.previousSecretExpiresAt) {
      key.previousSecret = { hash: key.secretHash, expiresAt: new Date(next.previousSecretExpiresAt) };
    } else {
      this.#idByHash.delete(key.secretHash);
      key.previousSecret = null;
    }
    this.#idByHash.set(next.secretHash, id);
    key.secretHash = next.secretHash;
    key.keyPrefix = next.keyPrefix;
    if (next.encryptedSecret) key.encryptedSecret = copy(next.encryptedSecret);
    else delete key.encryptedSecret;
    key.updatedAt = new Date(next.updatedAt);
    return copy(key);
  }

  async boundKeysOfOwner(organizationId: string, ownerUserId: string, bound: KeyBound, updatedAt: Date): Promise<KeyRecord[]> {
    const changed: KeyRecord[] = [];
    for (const id of this.#idsByOrganization.get(organizationId) ?? []) {
      const key = this.#byId.get(id)!;
      if (key.ownerUserId !== ownerUserId || key.revokedAt !== null) continue;
      const fields = boundedFields(key, bound);
      if (fields === null) continue;
      Object.assign(key, copy(fields), { updatedAt: new Date(updatedAt) });
      changed.push(copy(key));
    }
    return changed;
  }

  async countHoldingSlots(organizationId: string, ownerUserId?: string): Promise<number> {
    return this.#slotsHeld(organizationId, ownerUserId);
  }

  async countByState(organizationId: string): Promise<{ total: number; active: number }> {
    const ids = this.#idsByOrganization.get(organizationId) ?? [];
    let active = 0;
    for (const id of ids) {
      const key = this.#byId.get(id)!;
      if (key.isActive && key.revokedAt === null) active++;
    }
    return { total: ids.length, active };
  }

  async listSealedNotWith(keyId: string, query: { afterId?: string; limit: number }): Promise<KeyRecord[]> {
    return [...this.#byId.values()]
      .filter((key) => key.encryptedSecret !== undefined && key.encryptedSecret.keyId !== keyId)
      .filter((key) => query.afterId === undefined || key.id > query.afterId)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, query.limit)
      .map(copy);
  }

  async replaceSealedSecret(organizationId: string, id: string, expectedNonce: string, next: SealedSecret): Promise<boolean> {
    const key = this.#get(organizationId, id);
    if (key?.encryptedSecret?.nonce !== expectedNonce) return false;
    key.encryptedSecret = copy(next);
    return true;
  }
}

class MemoryOrganizationRepository implements OrganizationRepository {
  readonly #byId = new Map<string, Organization>();

  async create(organization: Organization): Promise<void> {
    if (this.#byId.has(organization.id)) throw new Error(`duplicate organization ${organization.id}`);
    this.#byId.set(organization.id, copy(organization));
  }

  async findById(id: string): Promise<Organization | null> {
    const organization = this.#byId.get(id);
    return organization ? copy(organization) : null;
  }

  async count(): Promise<number> {
    return this.#byId.size;
  }

  async setPlan(id: string, plan: string): Promise<Organization | null> {
    const organization = this.#byId.get(id);
    if (!organization) return null;
    organization.plan = plan;
    return copy(organization);
  }
}

class MemoryUserRepository implements UserRepository {
  readonly #byId = new Map<string, User>();

  #get(organizationId: string, id: string): User | undefined {
    const user = this.#byId.get(id);
    return user && user.organizationId === organizationId ? user : undefined;
  }

  /** Whether another owner of the user's organization remains when this one stops being owner. */
  #anotherOwner(user: User): boolean {
    for (const other of this.#byId.values()) {
      if (other.organizationId === user.organizationId && other.role === "owner" && other.id !== user.id) return true;
    }
    return false;
  }

  async create(user: User): Promise<void> {
    if (this.#byId.has(user.id)) throw new Error(`duplicate user ${user.id}`);
    this.#byId.set(user.id, copy(user));
  }

  async findById(organizationId: string, id: string): Promise<User | null> {
    const user = this.#get(organizationId, id);
    return user ? copy(user) : null;
  }

  async listByOrganization(organizationId: string, query: UserListQuery = {}): Promise<User[]> {
    return [...this.#byId.values()]
      .filter((user) => user.organizationId === organizationId && (query.afterId === undefined || user.id > query.afterId))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, query.limit)
      .map(copy);
  }

  async update(organizationId: string, id: string, patch: UserPatch): Promise<UserChangeOutcome> {
    const user = this.#get(organizationId, id);
    if (!user) return { ok: false, reason: "not_found" };
    if (user.role === "owner" && patch.role !== undefined && patch.role !== "owner" && !this.#anotherOwner(user)) {
      return { ok: false, reason: "last_owner" };
    }
    if (patch.name !== undefined) user.name = patch.name;
    if (patch.role !== undefined) user.role = patch.role;
    if (patch.limits !== undefined) {
      const limits = patchedLimits(user.limits, patch.limits);
      // Like MongoDB's $set/$unset: clearing limits a user never had leaves no limits object.
      if (user.limits !== undefined || Object.keys(limits).length > 0) user.limits = limits;
    }
    return { ok: true, user: copy(user) };
  }

  async remove(organizationId: string, id: string): Promise<UserChangeOutcome> {
    const user = this.#get(organizationId, id);
    if (!user) return { ok: false, reason: "not_found" };
    if (user.role === "owner" && !this.#anotherOwner(user)) return { ok: false, reason: "last_owner" };
    this.#byId.delete(id);
    return { ok: true, user: copy(user) };
  }
}

class MemoryAuditRepository implements AuditRepository {
  readonly #byOrganization = new Map<string, AuditEvent[]>();

  async append(event: AuditEvent): Promise<void> {
    let events = this.#byOrganization.get(event.organizationId);
    if (!events) this.#byOrganization.set(event.organizationId, (events = []));
    insertSortedEvent(events, copy(event));
  }

  async list(organizationId: string, query: AuditListQuery): Promise<AuditEvent[]> {
    const events = this.#byOrganization.get(organizationId) ?? [];
    const page: AuditEvent[] = [];
    for (let i = events.length - 1; i >= 0 && page.length < query.limit; i--) {
      const event = events[i]!;
      if (query.beforeId !== undefined && event.id >= query.beforeId) continue;
      if (query.keyId !== undefined && event.keyId !== query.keyId) continue;
      page.push(copy(event));
    }
    return page;
  }
}

function insertSortedEvent(events: AuditEvent[], event: AuditEvent): void {
  let i = events.length;
  while (i > 0 && events[i - 1]!.id > event.id) i--;
  events.splice(i, 0, event);
}

/**
 * Counts per bucket and slot. The embedded store serves one process, whose limiter already counts
 * exactly, so keygate itself does not share through it; it is here so the fleet logic and the
 * store contract are tested without MongoDB.
 */
class MemoryRateLimitCounters implements RateLimitCounterRepository {
  readonly #slots = new Map<string, Map<number, { count: number; expiresAtMs: number }>>();
  /** The newest slot start seen: the callers' clock, by which expired slots are dropped. */
  #latestMs = -Infinity;

  async add(increments: RateLimitSlotIncrement[]): Promise<void> {
    for (const { bucket, slotStartMs, count, expiresAtMs } of increments) {
      let slots = this.#slots.get(bucket);
      if (slots === undefined) this.#slots.set(bucket, (slots = new Map()));
      const slot = slots.get(slotStartMs);
      if (slot === undefined) slots.set(slotStartMs, { count, expiresAtMs });
      else slot.count += count;
      this.#latestMs = Math.max(this.#latestMs, slotStartMs);
    }
    for (const [bucket, slots] of this.#slots) {
      for (const [start, slot] of slots) if (slot.expiresAtMs <= this.#latestMs) slots.delete(start);
      if (slots.size === 0) this.#slots.delete(bucket);
    }
  }

  async read(buckets: { bucket: string; sinceMs: number }[]): Promise<RateLimitSlotCount[]> {
    const counts: RateLimitSlotCount[] = [];
    for (const { bucket, sinceMs } of buckets) {
      for (const [slotStartMs, slot] of this.#slots.get(bucket) ?? []) {
        if (slotStartMs >= sinceMs) counts.push({ bucket, slotStartMs, count: slot.count });
      }
    }
    return counts;
  }
}

export class MemoryStore implements Store {
  readonly kind = "memory" as const;
  readonly keys = new MemoryKeyRepository();
  readonly organizations = new MemoryOrganizationRepository();
  readonly users = new MemoryUserRepository();
  readonly audit = new MemoryAuditRepository();
  readonly usage = new MemoryUsageRepository();
  /** One process, nobody else to tell: nothing is kept. */
  readonly changes: ChangeLogRepository = { append: async () => {}, recent: async () => [] };
  readonly rateLimitCounters = new MemoryRateLimitCounters();

  async init(): Promise<void> {}

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
