import { randomUUID } from "node:crypto";
import { MongoServerError, type Collection, type Filter, type IndexDescription } from "mongodb";
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
import { hashesOf } from "../../model/key-hashes.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { MongoUnit } from "./transactions.js";
import type { MongoChangeLogRepository } from "./change-log-repository.js";
import type { CheckReads } from "./check-reads.js";
import { keysByHash, type FindKeyByHash } from "./keys-by-hash.js";
import { isAsSeen, KeyChangedError, type KeyAsSeen } from "../key-as-seen.js";
import { boundRateLimit, type KeyBound } from "../key-bound.js";
import { isUsableHolder } from "../usable-holder.js";
import { toDocument } from "./documents.js";
import { boundedNamedLimits, outsideBound, rateWithinBound } from "./key-bound-filters.js";
import { holdingSlot, stillAsSeen } from "./key-write-filters.js";
import { changesOf, toRecord, type KeyDocument } from "./key-document.js";
import { KeyWalks, type ExpiryPage, type PageAfter } from "./key-walks.js";
import { KEY_INDEXES } from "./key-indexes.js";
import { keyListFind } from "./key-list-filter.js";
import type { MongoDeletedKeyRepository } from "./deleted-key-repository.js";
import { KeySlotCounters, organizationCounter, userCounter, type SlotCounterId } from "./key-slots.js";
import { isDuplicateKeyError, reportingDuplicates } from "./mongo-errors.js";

/** How long a revocation claim (key-document.ts) holds when the call that set it died. */
const CLAIM_MS = 60_000;

/** How often update re-reads a key whose owner another update changed under it. */
const UPDATE_ATTEMPTS = 5;

export class MongoKeyRepository implements KeyRepository {
  static readonly indexes: IndexDescription[] = KEY_INDEXES;

  readonly #keys: Collection<KeyDocument>;
  readonly #slots: KeySlotCounters;
  readonly #changes: Pick<MongoChangeLogRepository, "append">;
  readonly #units: UnitOfWork<MongoUnit>;
  readonly #deleted: Pick<MongoDeletedKeyRepository, "remember">;

  /**
   * Each write runs as one unit of work (a transaction on a replica set): the key, the slot
   * counters it moves and the change-log entry other replicas follow (`changes`) commit together.
   */
  readonly #checkReads: CheckReads;
  readonly #byHash: FindKeyByHash;
  readonly #walks: KeyWalks;

  constructor(
    keys: Collection<KeyDocument>,
    slots: KeySlotCounters,
    changes: Pick<MongoChangeLogRepository, "append">,
    units: UnitOfWork<MongoUnit>,
    checkReads: CheckReads,
    deleted: Pick<MongoDeletedKeyRepository, "remember">,
  ) {
    this.#deleted = deleted;
    this.#keys = keys;
    this.#slots = slots;
    this.#changes = changes;
    this.#units = units;
    this.#checkReads = checkReads;
    this.#byHash = keysByHash(keys, checkReads, () => this.#inTransaction());
    this.#walks = new KeyWalks(keys);
  }

  create(key: KeyRecord, limits: KeySlotLimits): Promise<CreateKeyOutcome> {
    return this.#units.atomically(async () => {
      const refusal = await this.#slots.takeForKey(key.organizationId, key.ownerUserId, limits);
      if (refusal) return { ok: false, reason: refusal };
      try {
        await this.#keys.insertOne(toDocument(key));
      } catch (error) {
        // Without a transaction, a server error means nothing was written, so the slots go back.
        // After a network error the insert may have happened: keeping the slots then errs on the
        // side of the limit (and the counter repair, repairCounters, sets them right).
        if (error instanceof MongoServerError && !this.#inTransaction()) await this.#slots.releaseForKey(key.organizationId, key.ownerUserId);
        if (isDuplicateKeyError(error)) throw new Error("duplicate key id or secret hash", { cause: error });
        throw error;
      }
      // A key created already revoked is refused when full like any other, but holds no slot.
      if (key.revokedAt !== null) await this.#slots.releaseForKey(key.organizationId, key.ownerUserId);
      return { ok: true, key: structuredClone(key) };
    });
  }

  /**
   * Admin decisions read a key this way, from a secondary while there is no primary: the write
   * that follows checks the key is still as read (key-as-seen.ts), so a stale read is never acted
   * on, and an admin call does not spend a whole server selection before it starts waiting.
   */
  async findById(organizationId: string, id: string): Promise<KeyRecord | null> {
    const doc = await this.#keys.findOne({ _id: id, organizationId }, this.#checkReads);
    return doc && toRecord(doc);
  }

  async findByHash(secretHash: string): Promise<KeyRecord | null> {
    const doc = await this.#byHash(secretHash);
    return doc && toRecord(doc);
  }

  async list(organizationId: string, query: KeyListQuery): Promise<KeyRecord[]> {
    const { filter, sort, hint } = keyListFind(organizationId, query);
    const docs = await this.#keys.find(filter, hint === undefined ? {} : { hint }).sort(sort).limit(query.limit).toArray();
    return docs.map(toRecord);
  }

  update(organizationId: string, id: string, patch: KeyPatch, limits: KeySlotLimits, seen?: KeyAsSeen): Promise<UpdateKeyOutcome> {
    return this.#units.atomically(() => this.#update(organizationId, id, patch, limits, seen));
  }

  async #update(organizationId: string, id: string, patch: KeyPatch, limits: KeySlotLimits, seen?: KeyAsSeen): Promise<UpdateKeyOutcome> {
    const changes = changesOf(patch);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const filter = { ...holdingSlot(organizationId, id), ...stillAsSeen(seen) };
      let move: { from: SlotCounterId; to: SlotCounterId } | null = null;
      if (patch.ownerUserId !== undefined) {
        const current = await this.#currentAsSeen(organizationId, id, seen);
        if (current === null) return { ok: false, reason: "not_found" };
        if (current.revokedAt !== null) return { ok: false, reason: "revoked" };
        // Pin the owner just read, so the slot moved below is the one the key holds.
        filter.ownerUserId = current.ownerUserId;
        if (patch.ownerUserId !== current.ownerUserId) {
          move = { from: userCounter(organizationId, current.ownerUserId), to: userCounter(organizationId, patch.ownerUserId) };
          if (!(await this.#slots.take(move.to, limits.userMax))) return { ok: false, reason: "user_limit" };
        }
      }
      const updated = await this.#keys.findOneAndUpdate(filter, { $set: changes }, { returnDocument: "after" });
      if (updated) {
        if (move) await this.#slots.release(move.from);
        const key = toRecord(updated);
        await this.#announce(key, key);
        return { ok: true, key };
      }
      if (move) await this.#slots.release(move.to);
      const current = await this.#afterMiss(organizationId, id, seen);
      if (current === null) return { ok: false, reason: "not_found" };
      if (current.revokedAt !== null) return { ok: false, reason: "revoked" };
      // Another update gave the key to someone else between the read and the write: read again.
    }
    throw new Error(`key ${id} changed owner ${UPDATE_ATTEMPTS} times during one update; nothing was changed`);
  }

  revoke(organizationId: string, id: string, at: Date, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    return this.#units.atomically(async () => {
      // Only the call that moves revokedAt from null frees the slot.
      const revoked = await this.#keys.findOneAndUpdate(
        { ...holdingSlot(organizationId, id), ...stillAsSeen(seen) },
        // A revoked key's secret is of no use to anyone: its sealed copy goes.
        { $set: { revokedAt: at, isActive: false, updatedAt: at }, $unset: { encryptedSecret: "" } },
        { returnDocument: "after" },
      );
      if (revoked) {
        await this.#slots.releaseForKey(organizationId, revoked.ownerUserId);
        const key = toRecord(revoked);
        await this.#announce(key, key);
        return key;
      }
      const current = await this.#afterMiss(organizationId, id, seen);
      return current && toRecord(current);
    });
  }

  /**
   * Without a transaction: the key is claimed first, then another usable holder that no call has
   * claimed is looked for, then the key is revoked and the claim taken off. Of two calls racing
   * to revoke the last two holders, the one that looks second finds the other's key claimed (or
   * already revoked) and is refused; both are refused when each looks while the other's claim is
   * on, which errs on the side of keeping a holder.
   *
   * In a transaction the claims are invisible to the other call until commit (snapshot
   * isolation): there, both calls first write the organization's slot counter, so that two
   * concurrent ones conflict and the second runs again after the first committed, seeing its
   * revocation.
   */
  revokeUnlessLastHolder(organizationId: string, id: string, scope: string, at: Date): Promise<GuardedRevokeOutcome> {
    return this.#units.atomically(async () => {
      if (this.#inTransaction()) await this.#slots.touch(organizationCounter(organizationId));
      return this.#revokeUnlessLastHolder(organizationId, id, scope, at);
    });
  }

  async #revokeUnlessLastHolder(organizationId: string, id: string, scope: string, at: Date): Promise<GuardedRevokeOutcome> {
    const token = randomUUID();
    const claimed = await this.#keys.findOneAndUpdate(
      holdingSlot(organizationId, id),
      { $set: { revocationClaim: { token, at } } },
      { returnDocument: "after" },
    );
    if (claimed === null) {
      const current = await this.findById(organizationId, id);
      return current ? { ok: true, key: current } : { ok: false, reason: "not_found" };
    }
    let failed = false;
    try {
      if (isUsableHolder(claimed, scope, at)) {
        const unclaimed = { $or: [{ revocationClaim: { $exists: false } }, { "revocationClaim.at": { $lte: new Date(at.getTime() - CLAIM_MS) } }] };
        const usable = { $or: [{ expiresAt: null }, { expiresAt: { $gt: at } }] };
        const another = await this.#keys.countDocuments(
          { organizationId, _id: { $ne: id }, scopes: scope, revokedAt: null, isActive: true, $and: [usable, unclaimed] },
          { limit: 1 },
        );
        if (another === 0) return { ok: false, reason: "last_holder" };
      }
      const revoked = await this.revoke(organizationId, id, at);
      return revoked ? { ok: true, key: revoked } : { ok: false, reason: "not_found" };
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // After a failed operation a transaction is aborted, and the claim with it.
      if (!(failed && this.#inTransaction())) {
        await this.#keys.updateOne({ _id: id, organizationId, "revocationClaim.token": token }, { $unset: { revocationClaim: "" } });
      }
    }
  }

  delete(organizationId: string, id: string, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    return this.#units.atomically(async () => {
      const deleted = await this.#keys.findOneAndDelete({ _id: id, organizationId, ...stillAsSeen(seen) });
      if (deleted === null) {
        // Missed with the key still there: only the precondition can have kept it.
        if (seen && (await this.#keys.countDocuments({ _id: id, organizationId }, { limit: 1 })) > 0) throw new KeyChangedError(id);
        return null;
      }
      if (deleted.revokedAt === null) await this.#slots.releaseForKey(organizationId, deleted.ownerUserId);
      const key = toRecord(deleted);
      await this.#deleted.remember(key);
      await this.#announce(key, null);
      return key;
    });
  }

  replaceSecret(organizationId: string, id: string, next: NewSecret, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    return this.#units.atomically(async () => {
      // The hashes it is found by before the rotation, for the other replicas to drop.
      const before = await this.#keys.findOne({ _id: id, organizationId }, { projection: { secretHash: 1, previousSecret: 1 } });
      const rotated = await this.#replaceSecret(organizationId, id, next, seen);
      if (rotated && before) await this.#announce(before, rotated);
      return rotated;
    });
  }

  async #replaceSecret(organizationId: string, id: string, next: NewSecret, seen?: KeyAsSeen): Promise<KeyRecord | null> {
    const { secretHash, keyPrefix, previousSecretExpiresAt, encryptedSecret, expiresAt, updatedAt } = next;
    // A pipeline update reads "$secretHash" from the document as it was before this update.
    const previousSecret = previousSecretExpiresAt ? { hash: "$secretHash", expiresAt: { $literal: previousSecretExpiresAt } } : null;
    const updated = await reportingDuplicates(
      () =>
        this.#keys.findOneAndUpdate(
          { ...holdingSlot(organizationId, id), ...stillAsSeen(seen) },
          [
            {
              $set: {
                previousSecret: previousSecret === null ? { $literal: null } : previousSecret,
                secretHash: { $literal: secretHash },
                keyPrefix: { $literal: keyPrefix },
                updatedAt: { $literal: updatedAt },
                ...(expiresAt !== undefined && { expiresAt: { $literal: expiresAt } }),
              },
            },
            // The old secret's sealed copy never outlives it.
            !encryptedSecret ? { $unset: "encryptedSecret" } : { $set: { encryptedSecret: { $literal: encryptedSecret } } },
          ],
          { returnDocument: "after" },
        ),
      "secret hash",
    );
    if (updated === null && seen) await this.#afterMiss(organizationId, id, seen);
    return updated && toRecord(updated);
  }

  endGracePeriod(organizationId: string, id: string, previousHash: string, at: Date): Promise<KeyRecord | null> {
    return this.#units.atomically(async () => {
      const ended = await this.#keys.findOneAndUpdate(
        { ...holdingSlot(organizationId, id), "previousSecret.hash": previousHash, "previousSecret.expiresAt": { $gt: at } },
        { $set: { "previousSecret.expiresAt": at, updatedAt: at } },
        { returnDocument: "after" },
      );
      if (ended === null) return null;
      const key = toRecord(ended);
      await this.#announce(key, key);
      return key;
    });
  }

  async boundKeysOfOwner(organizationId: string, ownerUserId: string, bound: KeyBound, updatedAt: Date): Promise<KeyRecord[]> {
    const outside: Filter<KeyDocument> = { organizationId, ownerUserId, revokedAt: null, ...outsideBound(bound) };
    const candidates = await this.#keys.find(outside, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray();
    const changed: KeyRecord[] = [];
    for (const { _id } of candidates) {
      // The filter again, so a key changed, revoked or handed on since the find is judged as it is now.
      const updated = await this.#units.atomically(() => this.#bound(_id, outside, bound, updatedAt));
      if (updated) changed.push(updated);
    }
    return changed;
  }

  async #bound(_id: string, outside: Filter<KeyDocument>, bound: KeyBound, updatedAt: Date): Promise<KeyRecord | null> {
    const updated = await this.#keys.findOneAndUpdate(
      { _id, ...outside },
      [
        {
          $set: {
            scopes: { $filter: { input: "$scopes", cond: { $in: ["$$this", { $literal: [...bound.scopes] }] } } },
            rateLimit: { $cond: [rateWithinBound(bound.maxPerMinute), "$rateLimit", { $literal: boundRateLimit(bound.maxPerMinute) }] },
            limits: boundedNamedLimits(bound.maxPerMinute),
            updatedAt: { $literal: updatedAt },
          },
        },
      ],
      { returnDocument: "after" },
    );
    if (updated === null) return null;
    const key = toRecord(updated);
    await this.#announce(key, key);
    return key;
  }

  async countHoldingSlots(organizationId: string, ownerUserId?: string): Promise<number> {
    return this.#slots.held(
      ownerUserId === undefined ? organizationCounter(organizationId) : userCounter(organizationId, ownerUserId),
    );
  }

  async countByState(organizationId: string): Promise<{ total: number; active: number }> {
    const [total, active] = await Promise.all([
      this.#keys.countDocuments({ organizationId }),
      this.#keys.countDocuments({ organizationId, isActive: true, revokedAt: null }),
    ]);
    return { total, active };
  }

  listSealedNotWith(keyId: string, query: PageAfter): Promise<KeyRecord[]> {
    return this.#walks.sealedNotWith(keyId, query);
  }

  listExpiringBetween(from: Date, to: Date, query: ExpiryPage): Promise<KeyRecord[]> {
    return this.#walks.expiringBetween(from, to, query);
  }

  listUsableCreatedBefore(organizationId: string, before: Date, query: PageAfter): Promise<KeyRecord[]> {
    return this.#walks.usableCreatedBefore(organizationId, before, query);
  }

  async replaceSealedSecret(organizationId: string, id: string, expectedNonce: string, next: SealedSecret): Promise<boolean> {
    const result = await this.#keys.updateOne(
      { _id: id, organizationId, "encryptedSecret.nonce": expectedNonce },
      { $set: { encryptedSecret: next } },
    );
    return result.modifiedCount === 1;
  }

  /**
   * The key as it is now, before a write given `seen` (whose filter pins the owner read here): throws
   * KeyChangedError when it is no longer as seen.
   */
  async #currentAsSeen(organizationId: string, id: string, seen: KeyAsSeen | undefined): Promise<KeyDocument | null> {
    const current = await this.#keys.findOne({ _id: id, organizationId });
    if (current && seen && !isAsSeen(toRecord(current), seen)) throw new KeyChangedError(id);
    return current;
  }

  /**
   * The key as it is now, after a write to a slot-holding key given `seen` missed it: throws
   * KeyChangedError when it is no longer as seen, or still holds its slot (then only the
   * precondition can have kept the write from it), so a changed key is never reported as revoked.
   */
  async #afterMiss(organizationId: string, id: string, seen: KeyAsSeen | undefined): Promise<KeyDocument | null> {
    const current = await this.#currentAsSeen(organizationId, id, seen);
    if (current && seen && current.revokedAt === null) throw new KeyChangedError(id);
    return current;
  }

  /** The change-log entry of a change, in the unit making it: `key` after it, null when gone. */
  async #announce(before: Pick<KeyRecord, "secretHash" | "previousSecret">, key: KeyRecord | null): Promise<void> {
    const hashes = [...new Set([...hashesOf(before), ...(key ? hashesOf(key) : [])])];
    await this.#changes.append({ kind: "key", hashes, key });
  }

  #inTransaction(): boolean {
    return this.#units.context()?.session !== undefined;
  }
}
