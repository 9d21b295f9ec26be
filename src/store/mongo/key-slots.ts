import type { Collection } from "mongodb";
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
    // The counter exists now (counters are never deleted), either full or created by a concurrent
    // writer a moment ago: the same conditional increment without upsert decides which.
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
}
