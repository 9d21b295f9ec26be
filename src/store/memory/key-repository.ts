import type {
  CreateKeyOutcome,
  GuardedRevokeOutcome,
  KeyListQuery,
  KeyPatch,
  KeyRepository,
  KeySlotLimits,
  NewSecret,
  UpdateKeyOutcome,
} from "../store.js";
import type { KeyRecord, SealedSecret } from "../../model/records.js";
import { isAsSeen, KeyChangedError, type KeyAsSeen } from "../key-as-seen.js";
import { boundedFields, type KeyBound } from "../key-bound.js";
import { isUsableHolder } from "../usable-holder.js";
import { copy } from "./copy.js";

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

export class MemoryKeyRepository implements KeyRepository {
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
