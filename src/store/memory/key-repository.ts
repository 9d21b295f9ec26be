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
import { KeyTable } from "./key-table.js";

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

/** A stored key: its row in the table and a fresh record of it, for the caller to change and write back. */
interface Found {
  row: number;
  key: KeyRecord;
}

/**
 * Keys in process memory, compact (key-table.ts): indexes by id and by secret hash point at rows,
 * and each organization's ids are kept sorted for listing. Records go in and come out as copies,
 * so a caller holding one can never change what the store holds except through its methods.
 */
export class MemoryKeyRepository implements KeyRepository {
  readonly #table = new KeyTable();
  readonly #rowById = new Map<string, number>();
  readonly #rowByHash = new Map<string, number>();
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

  #row(organizationId: string, id: string): number | undefined {
    const row = this.#rowById.get(id);
    return row !== undefined && this.#table.organizationId(row) === organizationId ? row : undefined;
  }

  /** The key, when there is one, if still as the caller saw it: checked in the same synchronous step as the write. */
  #find(organizationId: string, id: string, seen?: KeyAsSeen): Found | undefined {
    const row = this.#row(organizationId, id);
    if (row === undefined) return undefined;
    const key = this.#table.read(row);
    if (seen && !isAsSeen(key, seen)) throw new KeyChangedError(id);
    return { row, key };
  }

  /** Stores the changed record and answers a fresh one, sharing nothing with what the caller passed in. */
  #write({ row, key }: Found): KeyRecord {
    this.#table.write(row, key);
    return this.#table.read(row);
  }

  async create(key: KeyRecord, limits: KeySlotLimits): Promise<CreateKeyOutcome> {
    if (this.#slotsHeld(key.organizationId) >= limits.organizationMax) return { ok: false, reason: "organization_limit" };
    if (this.#slotsHeld(key.organizationId, key.ownerUserId) >= limits.userMax) return { ok: false, reason: "user_limit" };
    if (this.#rowById.has(key.id) || this.#rowByHash.has(key.secretHash)) throw new Error("duplicate key id or secret hash");
    const row = this.#table.insert(key);
    this.#rowById.set(key.id, row);
    this.#rowByHash.set(key.secretHash, row);
    let ids = this.#idsByOrganization.get(key.organizationId);
    if (!ids) this.#idsByOrganization.set(key.organizationId, (ids = []));
    insertSorted(ids, key.id);
    if (holdsSlot(key)) this.#moveSlot(key, 1);
    return { ok: true, key: this.#table.read(row) };
  }

  async findById(organizationId: string, id: string): Promise<KeyRecord | null> {
    const row = this.#row(organizationId, id);
    return row === undefined ? null : this.#table.read(row);
  }

  async findByHash(secretHash: string): Promise<KeyRecord | null> {
    const row = this.#rowByHash.get(secretHash);
    return row === undefined ? null : this.#table.read(row);
  }

  async list(organizationId: string, query: KeyListQuery): Promise<KeyRecord[]> {
    const ids = this.#idsByOrganization.get(organizationId) ?? [];
    const page: KeyRecord[] = [];
    for (let i = query.afterId === undefined ? 0 : firstIndexAfter(ids, query.afterId); i < ids.length; i++) {
      const row = this.#rowById.get(ids[i]!)!;
      if (query.isActive !== undefined && this.#table.isActive(row) !== query.isActive) continue;
      if (query.ownerUserId !== undefined && this.#table.ownerUserId(row) !== query.ownerUserId) continue;
      page.push(this.#table.read(row));
      if (page.length === query.limit) break;
    }
    return page;
  }

  async update(organizationId: string, id: string, patch: KeyPatch, limits: KeySlotLimits, seen?: KeyAsSeen): Promise<UpdateKeyOutcome> {
    const found = this.#find(organizationId, id, seen);
    if (!found) return { ok: false, reason: "not_found" };
    const { key } = found;
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
      if (value !== undefined) (key as unknown as Record<string, unknown>)[field] = value;
    }
    this.#moveSlot(key, 1);
    return { ok: true, key: this.#write(found) };
  }

  async revoke(organizationId: string, id: string, at: Date, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    const found = this.#find(organizationId, id, seen);
    if (!found) return null;
    const { key } = found;
    if (key.revokedAt !== null) return key;
    this.#moveSlot(key, -1);
    delete key.encryptedSecret;
    key.revokedAt = new Date(at);
    key.isActive = false;
    key.updatedAt = new Date(at);
    return this.#write(found);
  }

  async revokeUnlessLastHolder(organizationId: string, id: string, scope: string, at: Date): Promise<GuardedRevokeOutcome> {
    const found = this.#find(organizationId, id);
    if (!found) return { ok: false, reason: "not_found" };
    if (isUsableHolder(found.key, scope, at)) {
      const another = (this.#idsByOrganization.get(organizationId) ?? []).some(
        (other) => other !== id && isUsableHolder(this.#table.read(this.#rowById.get(other)!), scope, at),
      );
      if (!another) return { ok: false, reason: "last_holder" };
    }
    return { ok: true, key: (await this.revoke(organizationId, id, at))! };
  }

  async delete(organizationId: string, id: string, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    const found = this.#find(organizationId, id, seen);
    if (!found) return null;
    const { row, key } = found;
    if (holdsSlot(key)) this.#moveSlot(key, -1);
    this.#rowById.delete(id);
    this.#rowByHash.delete(key.secretHash);
    if (key.previousSecret) this.#rowByHash.delete(key.previousSecret.hash);
    const ids = this.#idsByOrganization.get(organizationId)!;
    ids.splice(firstIndexAfter(ids, id) - 1, 1);
    this.#table.remove(row);
    return key;
  }

  async replaceSecret(organizationId: string, id: string, next: NewSecret, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    const found = this.#find(organizationId, id, seen);
    if (!found || found.key.revokedAt !== null) return null;
    const { row, key } = found;
    if (this.#rowByHash.has(next.secretHash)) throw new Error("duplicate secret hash");
    // Only one previous secret is kept: the one two rotations back stops working now.
    if (key.previousSecret) this.#rowByHash.delete(key.previousSecret.hash);
    if (next.previousSecretExpiresAt) {
      key.previousSecret = { hash: key.secretHash, expiresAt: next.previousSecretExpiresAt };
    } else {
      this.#rowByHash.delete(key.secretHash);
      key.previousSecret = null;
    }
    this.#rowByHash.set(next.secretHash, row);
    key.secretHash = next.secretHash;
    key.keyPrefix = next.keyPrefix;
    if (next.encryptedSecret) key.encryptedSecret = next.encryptedSecret;
    else delete key.encryptedSecret;
    key.updatedAt = next.updatedAt;
    return this.#write(found);
  }

  async boundKeysOfOwner(organizationId: string, ownerUserId: string, bound: KeyBound, updatedAt: Date): Promise<KeyRecord[]> {
    const changed: KeyRecord[] = [];
    for (const id of this.#idsByOrganization.get(organizationId) ?? []) {
      const row = this.#rowById.get(id)!;
      if (this.#table.ownerUserId(row) !== ownerUserId || this.#table.isRevoked(row)) continue;
      const key = this.#table.read(row);
      const fields = boundedFields(key, bound);
      if (fields === null) continue;
      Object.assign(key, fields, { updatedAt });
      changed.push(this.#write({ row, key }));
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
      const row = this.#rowById.get(id)!;
      if (this.#table.isActive(row) && !this.#table.isRevoked(row)) active++;
    }
    return { total: ids.length, active };
  }

  async listSealedNotWith(keyId: string, query: { afterId?: string; limit: number }): Promise<KeyRecord[]> {
    const rows: number[] = [];
    for (const [row, sealedWith] of this.#table.sealedRows()) {
      if (sealedWith !== keyId && (query.afterId === undefined || this.#table.id(row) > query.afterId)) rows.push(row);
    }
    return rows
      .sort((a, b) => (this.#table.id(a) < this.#table.id(b) ? -1 : 1))
      .slice(0, query.limit)
      .map((row) => this.#table.read(row));
  }

  async replaceSealedSecret(organizationId: string, id: string, expectedNonce: string, next: SealedSecret): Promise<boolean> {
    const found = this.#find(organizationId, id);
    if (found?.key.encryptedSecret?.nonce !== expectedNonce) return false;
    found.key.encryptedSecret = next;
    this.#table.write(found.row, found.key);
    return true;
  }
}
