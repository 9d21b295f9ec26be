import { MaxKey, MinKey, type Collection, type Filter } from "mongodb";
import type { KeySlotLimits } from "../store.js";
import { isDuplicateKeyError, RaceLost } from "./mongo-errors.js";

/**
 * One counter document per organization and per (organization, owner user): how many key slots
 * are held. A slot is taken by a conditional `$inc` that only matches while the counter is below
 * the limit, so two writers racing for the last slot cannot both get it. The key repository
 * takes and gives back slots in the same unit of work as the key write (a transaction on a
 * replica set, so the counter and the keys never disagree); on a standalone mongod, without
 * transactions, it gives them back by compensation when the key write does not happen.
 */
export interface SlotCounterId {
  organizationId: string;
  /** null for the organization's own counter. */
  ownerUserId: string | null;
}

/** Counters are only ever addressed by `_id`, so they need no index of their own. */
export interface SlotCounterDocument {
  _id: SlotCounterId;
  held: number;
  /** Bumped by touch(): a write that changes nothing would not conflict with another. */
  touches?: number;
}

export const organizationCounter = (organizationId: string): SlotCounterId => ({ organizationId, ownerUserId: null });

export const userCounter = (organizationId: string, ownerUserId: string): SlotCounterId => ({
  organizationId,
  ownerUserId,
});

/** How often take() looks again at a counter that changed between its write and its read. */
const TAKE_ATTEMPTS = 5;

export class KeySlotCounters {
  readonly #counters: Collection<SlotCounterDocument>;

  readonly #inTransaction: () => boolean;

  constructor(counters: Collection<SlotCounterDocument>, inTransaction: () => boolean) {
    this.#counters = counters;
    this.#inTransaction = inTransaction;
  }

  /** Takes one slot if fewer than `max` are held; false when the counter is full. */
  async take(id: SlotCounterId, max: number): Promise<boolean> {
    if (max <= 0) return false;
    const notFull = { _id: id, held: { $lt: max } };
    for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
      if ((await this.#counters.updateOne(notFull, { $inc: { held: 1 } })).modifiedCount === 1) return true;
      const counter = await this.#counters.findOne({ _id: id });
      if (counter !== null) {
        if (counter.held >= max) return false;
        continue; // A slot was freed, or the counter created, between the two: try again.
      }
      // The first slot creates the counter. No upsert: a failed write aborts a transaction, and an
      // upsert on a full counter fails (E11000) by design.
      try {
        await this.#counters.insertOne({ _id: id, held: 1 });
        return true;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        if (this.#inTransaction()) throw new RaceLost("key slot counter created concurrently", { cause: error });
      }
    }
    throw new RaceLost(`key slot counter changed ${TAKE_ATTEMPTS} times while taking a slot; no slot was taken`);
  }

  /** A key's slots: the organization's, then its owner's; refused with the limit that was full. */
  async takeForKey(organizationId: string, ownerUserId: string, limits: KeySlotLimits): Promise<"organization_limit" | "user_limit" | null> {
    if (!(await this.take(organizationCounter(organizationId), limits.organizationMax))) return "organization_limit";
    if (!(await this.take(userCounter(organizationId, ownerUserId), limits.userMax))) {
      await this.release(organizationCounter(organizationId));
      return "user_limit";
    }
    return null;
  }

  /** Gives a key's two slots back, one after the other (a transaction's operations never run concurrently). */
  async releaseForKey(organizationId: string, ownerUserId: string): Promise<void> {
    await this.release(organizationCounter(organizationId));
    await this.release(userCounter(organizationId, ownerUserId));
  }

  /** Writes the counter without changing it: concurrent transactions that both do conflict. */
  async touch(id: SlotCounterId): Promise<void> {
    await this.#counters.updateOne({ _id: id }, { $inc: { touches: 1 } });
  }

  /** Gives one slot back. */
  async release(id: SlotCounterId): Promise<void> {
    await this.#counters.updateOne({ _id: id }, { $inc: { held: -1 } });
  }

  async held(id: SlotCounterId): Promise<number> {
    const counter = await this.#counters.findOne({ _id: id });
    return counter?.held ?? 0;
  }

  /**
   * Sets the organization's counters to the slots its keys hold (`heldByOwner`, per owner user;
   * the organization's own counter is their sum) and deletes those that count no key (a missing
   * counter holds 0). Returns every counter compared, as it was and as it is now: the
   * organization's first, then its users' in id order.
   */
  async recount(organizationId: string, heldByOwner: ReadonlyMap<string, number>): Promise<SlotRecount[]> {
    const stored = await this.#counters.find(countersOf(organizationId)).toArray();
    const was = new Map(stored.map((counter) => [counter._id.ownerUserId, counter.held]));
    const held = new Map<string | null, number>([[null, [...heldByOwner.values()].reduce((sum, n) => sum + n, 0)], ...heldByOwner]);
    const recounts: SlotRecount[] = [];
    // null (the organization) as "" sorts before every user id.
    const owners = [...new Set([...was.keys(), ...held.keys()])].sort((a, b) => ((a ?? "") < (b ?? "") ? -1 : 1));
    for (const ownerUserId of owners) {
      const id = ownerUserId === null ? organizationCounter(organizationId) : userCounter(organizationId, ownerUserId);
      const before = was.get(ownerUserId);
      const now = held.get(ownerUserId) ?? 0;
      if (before === undefined && now === 0) continue;
      recounts.push({ id, was: before ?? 0, now });
      if (now === 0) await this.#counters.deleteOne({ _id: id });
      else if (before !== now) await this.#counters.updateOne({ _id: id }, { $set: { held: now } }, { upsert: true });
    }
    return recounts;
  }
}

export interface SlotRecount {
  id: SlotCounterId;
  was: number;
  now: number;
}

/**
 * Every counter of one organization, as a range of the `_id` index: embedded documents compare
 * field by field, by type before value, and MinKey and MaxKey bound every type, so the range
 * holds exactly the ids `{organizationId, ownerUserId}` of this organization (a filter on
 * `_id.organizationId` would scan the whole collection for each organization).
 */
const countersOf = (organizationId: string): Filter<SlotCounterDocument> => ({
  _id: { $gte: { organizationId, ownerUserId: new MinKey() }, $lte: { organizationId, ownerUserId: new MaxKey() } } as never,
});
