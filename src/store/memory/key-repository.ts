import type {
  CreateKeyOutcome,
  ExpiryCursor,
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
import { MemoryDeletedKeyRepository } from "./deleted-key-repository.js";
import { ExpiryWalks } from "./expiry-walks.js";
import { KeyTable } from "./key-table.js";
import { keyListPage } from "./key-list-page.js";
import { RowsByCode } from "./rows-by-code.js";

/**
 * Where `id` goes in rows sorted by id (`idOf` names a row's id): after every row whose id sorts
 * before it, and also after the row with this id when `orEqual`.
 */
function positionOf(rows: number[], idOf: (row: number) => string, id: string, orEqual: boolean): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const other = idOf(rows[mid]!);
    if (other < id || (orEqual && other === id)) low = mid + 1;
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
 * Keys in process memory, compact (key-table.ts): indexes by id and by secret hash point at rows
 * (rows-by-code.ts), and each organization's rows are kept in id order for listing. Records go in
 * and come out as copies, so a caller holding one can never change what the store holds except
 * through its methods.
 */
export class MemoryKeyRepository implements KeyRepository {
  readonly #table = new KeyTable();
  readonly #idOf = (row: number): string => this.#table.id(row);
  readonly #rowById = new RowsByCode();
  readonly #rowByHash = new RowsByCode();
  /** Each organization's rows, in id order. */
  readonly #rowsByOrganization = new Map<string, number[]>();
  readonly #expiryWalks = new ExpiryWalks(this.#table);
  /** Slots held, by organization id and by `organizationId/userId`. */
  readonly #slots = new Map<string, number>();

  /** `deleted` remembers the keys delete() removes (the store's deletedKeys). */
  constructor(private readonly deleted = new MemoryDeletedKeyRepository()) {}

  #rowOfId(id: string): number | undefined {
    return this.#rowById.find(id, (row) => this.#table.id(row) === id);
  }

  #rowOfHash(secretHash: string): number | undefined {
    return this.#rowByHash.find(secretHash, (row) => this.#table.isFoundBy(row, secretHash));
  }

  #slotsHeld(organizationId: string, ownerUserId?: string): number {
    return this.#slots.get(ownerUserId === undefined ? organizationId : `${organizationId}/${ownerUserId}`) ?? 0;
  }

  #moveSlot(key: KeyRecord, delta: 1 | -1): void {
    for (const counter of [key.organizationId, `${key.organizationId}/${key.ownerUserId}`]) {
      this.#slots.set(counter, (this.#slots.get(counter) ?? 0) + delta);
    }
  }

  #row(organizationId: string, id: string): number | undefined {
    const row = this.#rowOfId(id);
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
    if (this.#rowOfId(key.id) !== undefined || this.#rowOfHash(key.secretHash) !== undefined) throw new Error("duplicate key id or secret hash");
    const row = this.#table.insert(key);
    this.#rowById.add(key.id, row);
    this.#rowByHash.add(key.secretHash, row);
    let rows = this.#rowsByOrganization.get(key.organizationId);
    if (!rows) this.#rowsByOrganization.set(key.organizationId, (rows = []));
    rows.splice(positionOf(rows, this.#idOf, key.id, false), 0, row);
    if (holdsSlot(key)) this.#moveSlot(key, 1);
    return { ok: true, key: this.#table.read(row) };
  }

  async findById(organizationId: string, id: string): Promise<KeyRecord | null> {
    const row = this.#row(organizationId, id);
    return row === undefined ? null : this.#table.read(row);
  }

  async findByHash(secretHash: string): Promise<KeyRecord | null> {
    const row = this.#rowOfHash(secretHash);
    return row === undefined ? null : this.#table.read(row);
  }

  async list(organizationId: string, query: KeyListQuery): Promise<KeyRecord[]> {
    return keyListPage(this.#table, this.#rowsByOrganization.get(organizationId) ?? [], query).map((row) => this.#table.read(row));
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
      const another = (this.#rowsByOrganization.get(organizationId) ?? []).some(
        (other) => other !== found.row && isUsableHolder(this.#table.read(other), scope, at),
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
    this.#rowById.delete(id, row);
    this.#rowByHash.delete(key.secretHash, row);
    if (key.previousSecret) this.#rowByHash.delete(key.previousSecret.hash, row);
    const rows = this.#rowsByOrganization.get(organizationId)!;
    rows.splice(positionOf(rows, this.#idOf, id, false), 1);
    this.#table.remove(row);
    this.deleted.remember(key);
    return key;
  }

  async replaceSecret(organizationId: string, id: string, next: NewSecret, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    const found = this.#find(organizationId, id, seen);
    if (!found || found.key.revokedAt !== null) return null;
    const { row, key } = found;
    if (this.#rowOfHash(next.secretHash) !== undefined) throw new Error("duplicate secret hash");
    // Only one previous secret is kept: the one two rotations back stops working now.
    if (key.previousSecret) this.#rowByHash.delete(key.previousSecret.hash, row);
    if (next.previousSecretExpiresAt) {
      key.previousSecret = { hash: key.secretHash, expiresAt: next.previousSecretExpiresAt };
    } else {
      this.#rowByHash.delete(key.secretHash, row);
      key.previousSecret = null;
    }
    this.#rowByHash.add(next.secretHash, row);
    key.secretHash = next.secretHash;
    key.keyPrefix = next.keyPrefix;
    if (next.encryptedSecret) key.encryptedSecret = next.encryptedSecret;
    else delete key.encryptedSecret;
    if (next.expiresAt !== undefined) key.expiresAt = next.expiresAt;
    key.updatedAt = next.updatedAt;
    return this.#write(found);
  }

  async endGracePeriod(organizationId: string, id: string, previousHash: string, at: Date): Promise<KeyRecord | null> {
    const found = this.#find(organizationId, id);
    const previous = found?.key.previousSecret;
    if (!found || found.key.revokedAt !== null || previous?.hash !== previousHash || previous.expiresAt <= at) return null;
    found.key.previousSecret = { hash: previousHash, expiresAt: new Date(at) };
    found.key.updatedAt = new Date(at);
    return this.#write(found);
  }

  async boundKeysOfOwner(organizationId: string, ownerUserId: string, bound: KeyBound, updatedAt: Date): Promise<KeyRecord[]> {
    const changed: KeyRecord[] = [];
    for (const row of this.#rowsByOrganization.get(organizationId) ?? []) {
      if (this.#table.ownerUserId(row) !== ownerUserId || this.#table.isRevoked(row)) continue;
      const key = this.#table.read(row);
      const fields = boundedFields(key, bound);
      if (fields === null) continue;
      Object.assign(key, fields, { updatedAt });
      changed.push(this.#write({ row, key }));
    }
    return changed;
  }

  async listExpiringBetween(from: Date, to: Date, query: { after?: ExpiryCursor; limit: number }): Promise<KeyRecord[]> {
    return this.#expiryWalks.page(from, to, query, () => [...this.#rowsByOrganization.values()].flat());
  }

  async listUsableCreatedBefore(organizationId: string, before: Date, query: { afterId?: string; limit: number }): Promise<KeyRecord[]> {
    const rows = this.#rowsByOrganization.get(organizationId) ?? [];
    const page: KeyRecord[] = [];
    for (let i = query.afterId === undefined ? 0 : positionOf(rows, this.#idOf, query.afterId, true); i < rows.length && page.length < query.limit; i++) {
      const row = rows[i]!;
      if (this.#table.isUsable(row) && this.#table.createdAtMs(row) < before.getTime()) page.push(this.#table.read(row));
    }
    return page;
  }

  /** Keys of the organization tied to the identity that are not revoked (what keeps it from deletion). */
  tiedTo(organizationId: string, identityId: string): number {
    let tied = 0;
    for (const row of this.#rowsByOrganization.get(organizationId) ?? []) {
      if (this.#table.identityId(row) === identityId && !this.#table.isRevoked(row)) tied++;
    }
    return tied;
  }

  async countHoldingSlots(organizationId: string, ownerUserId?: string): Promise<number> {
    return this.#slotsHeld(organizationId, ownerUserId);
  }

  async countByState(organizationId: string): Promise<{ total: number; active: number }> {
    const rows = this.#rowsByOrganization.get(organizationId) ?? [];
    let active = 0;
    for (const row of rows) {
      if (this.#table.isActive(row) && !this.#table.isRevoked(row)) active++;
    }
    return { total: rows.length, active };
  }

  async listSealedNotWith(keyId: string, query: { afterId?: string; limit: number }): Promise<KeyRecord[]> {
    const rows: number[] = [];
    for (const [row, sealedWith] of this.#table.sealedRows()) if (sealedWith !== keyId) rows.push(row);
    return this.#pageInIdOrder(rows, query);
  }

  /** The keys of `rows` (from any organizations) whose ids sort after the cursor, in id order, a page of them. */
  #pageInIdOrder(rows: number[], query: { afterId?: string; limit: number }): KeyRecord[] {
    return rows
      .map((row) => ({ row, id: this.#table.id(row) }))
      .filter(({ id }) => query.afterId === undefined || id > query.afterId)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, query.limit)
      .map(({ row }) => this.#table.read(row));
  }

  async replaceSealedSecret(organizationId: string, id: string, expectedNonce: string, next: SealedSecret): Promise<boolean> {
    const found = this.#find(organizationId, id);
    if (found?.key.encryptedSecret?.nonce !== expectedNonce) return false;
    found.key.encryptedSecret = next;
    this.#table.write(found.row, found.key);
    return true;
  }
}
