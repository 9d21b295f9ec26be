import type { Collection } from "mongodb";
import { isDuplicateKeyError, RaceLost } from "./mongo-errors.js";

/**
 * One counter document per organization: how many of its users are owners. An owner stops being
 * one (removed or demoted) only after a conditional `$inc` that matches while the counter is above
 * one has taken that owner away, so two requests racing to remove the last two owners cannot both
 * win, without a transaction (the same pattern as key-slots.ts).
 *
 * The user repository makes these writes in the same unit of work as the user write (a
 * transaction on a replica set: they commit together). Without transactions (a standalone
 * mongod), writes keep the counter at or below the true number: it is lowered before an owner goes and
 * raised after one arrives, so a crash in between can only refuse a removal that was allowed,
 * never allow removing the last owner.
 *
 * A counter is created on first use by counting the organization's owners. Every write that
 * makes or unmakes an owner calls `ensure` first and only then changes users, so no owner change
 * can fall between that count and the counter's creation.
 */
export interface OwnerCountDocument {
  /** The organization id. */
  _id: string;
  owners: number;
}

export class OwnerCounts {
  readonly #counts: Collection<OwnerCountDocument>;
  readonly #countOwners: (organizationId: string) => Promise<number>;
  readonly #inTransaction: () => boolean;

  constructor(counts: Collection<OwnerCountDocument>, countOwners: (organizationId: string) => Promise<number>, inTransaction: () => boolean) {
    this.#counts = counts;
    this.#countOwners = countOwners;
    this.#inTransaction = inTransaction;
  }

  async ensure(organizationId: string): Promise<void> {
    if ((await this.#counts.countDocuments({ _id: organizationId }, { limit: 1 })) > 0) return;
    const owners = await this.#countOwners(organizationId);
    try {
      await this.#counts.insertOne({ _id: organizationId, owners });
    } catch (error) {
      // Another writer created it first, from the same count; a transaction that lost the race is
      // aborted by the failed write and runs again.
      if (!isDuplicateKeyError(error)) throw error;
      if (this.#inTransaction()) throw new RaceLost("owner counter created concurrently", { cause: error });
    }
  }

  /** Takes one owner away if another remains; false when this is the last. Call ensure first. */
  async takeOneIfAnotherRemains(organizationId: string): Promise<boolean> {
    const result = await this.#counts.updateOne({ _id: organizationId, owners: { $gt: 1 } }, { $inc: { owners: -1 } });
    return result.modifiedCount === 1;
  }

  /** One more owner (also gives back one taken for a change that did not happen). Call ensure first. */
  async addOne(organizationId: string): Promise<void> {
    await this.#counts.updateOne({ _id: organizationId }, { $inc: { owners: 1 } });
  }

  /**
   * Sets the organization's counter to its owners as counted now, deleting it when there are none
   * (ensure counts afresh); the counter as it was and as it is now, or null when there is none
   * (ensure creates it from a count when it is first needed).
   */
  async recount(organizationId: string): Promise<{ was: number; now: number } | null> {
    const counter = await this.#counts.findOne({ _id: organizationId });
    if (counter === null) return null;
    const owners = await this.#countOwners(organizationId);
    if (owners === 0) await this.#counts.deleteOne({ _id: organizationId });
    else if (owners !== counter.owners) await this.#counts.updateOne({ _id: organizationId }, { $set: { owners } });
    return { was: counter.owners, now: owners };
  }
}
