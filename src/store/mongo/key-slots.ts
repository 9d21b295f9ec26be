import { MaxKey, MinKey, type Collection, type Filter } from "mongodb";
import { isDuplicateKeyError } from "./mongo-errors.js";

/**
 * One counter document per organization and per (organization, owner user): how many key slots
 * are held. A slot is taken by a conditional `$inc` that only matches while the counter is below
 * the limit, so two writers racing for the last slot cannot both get it — no transaction and no
 * read-modify-write. The key repository takes slots before it writes a key and gives them back
 * when the write does not happen (compensation), or when a key is revoked or deleted.
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
}

export const organizationCounter = (organizationId: string): SlotCounterId => ({ organizationId, ownerUserId: null });

export const userCounter = (organizationId: string, ownerUserId: string): SlotCounterId => ({
  organizationId,
  ownerUserId,
});

export class KeySlotCounters {
  readonly #counters: Collection<SlotCounterDocument>;

  constructor(counters: Collection<SlotCounterDocument>) {
    this.#counters = counters;
  }

  /** Takes one slot if fewer than `max` are held; false when the counter is full. */
  async take(id: SlotCounterId, max: number): Promise<boolean> {
    // An upsert only copies equality fields into the new document, so a limit of 0 would still
    // create a counter holding 1: refuse before touching the collection.
    if (max <= 0) return false;
    const notFull = { _id: id, held: { $lt: max } };
    try {
      // The first slot creates the counter. When the counter exists but is full, the filter does not
      // match and the upsert tries to insert a second document with the same _id: E11000.
      await this.#counters.updateOne(notFull, { $inc: { held: 1 } }, { upsert: true });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    // The counter exists now, either full or created by a concurrent writer a moment ago: the same
    // conditional increment without upsert decides which. (Only the repair deletes a counter, one
    // that counts no key; deleted in between, the slot is refused, which errs on the limit's side.)
    const result = await this.#counters.updateOne(notFull, { $inc: { held: 1 } });
    return result.modifiedCount === 1;
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
