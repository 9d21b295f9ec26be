import type { Collection, Filter, UpdateFilter } from "mongodb";
import { isDuplicateKeyError, RaceLost } from "./mongo-errors.js";

/**
 * One counter document per organization: how many of something (webhook endpoints, identities) it
 * holds, in the field `field`. A place is taken by a conditional `$inc` that matches only while the
 * counter is below the limit, so creations racing for the last place all write this one document:
 * in a transaction (a replica set) all but one conflict and run again, and then find the counter
 * full; without transactions (a standalone mongod) the conditional write is atomic on its own. A
 * count of the documents and an insert could not do this: two transactions inserting different
 * documents both commit.
 *
 * The repository takes a place before inserting and gives it back after deleting, in the same unit
 * of work. Without transactions the counter is so never below the documents there are: a failure
 * in between can only refuse a creation that was allowed.
 *
 * A counter is created on first use by counting the organization's documents. Creating and
 * deleting both call `ensure` first, so none comes or goes between that count and the counter's
 * creation.
 */
export type OrganizationCountDocument = { _id: string } & Record<string, unknown>;

export class OrganizationCounts {
  readonly #counts: Collection<OrganizationCountDocument>;
  readonly #field: string;
  readonly #countExisting: (organizationId: string) => Promise<number>;
  readonly #inTransaction: () => boolean;

  constructor(counts: Collection<OrganizationCountDocument>, field: string, countExisting: (organizationId: string) => Promise<number>, inTransaction: () => boolean) {
    this.#counts = counts;
    this.#field = field;
    this.#countExisting = countExisting;
    this.#inTransaction = inTransaction;
  }

  async ensure(organizationId: string): Promise<void> {
    if ((await this.#counts.countDocuments({ _id: organizationId }, { limit: 1 })) > 0) return;
    const count = await this.#countExisting(organizationId);
    try {
      await this.#counts.insertOne({ _id: organizationId, [this.#field]: count });
    } catch (error) {
      // Another writer created it first, from the same count; a transaction that lost the race is
      // aborted by the failed write and runs again.
      if (!isDuplicateKeyError(error)) throw error;
      if (this.#inTransaction()) throw new RaceLost(`${this.#counts.collectionName} counter created concurrently`, { cause: error });
    }
  }

  /** Takes a place if fewer than `max` are held; false when the organization holds `max`. Call ensure first. */
  async take(organizationId: string, max: number): Promise<boolean> {
    const filter = { _id: organizationId, [this.#field]: { $lt: max } } as Filter<OrganizationCountDocument>;
    const result = await this.#counts.updateOne(filter, { $inc: { [this.#field]: 1 } } as UpdateFilter<OrganizationCountDocument>);
    return result.modifiedCount === 1;
  }

  /** Gives a place back: one deleted, or one not inserted after all. Call ensure first. */
  async release(organizationId: string): Promise<void> {
    await this.#counts.updateOne({ _id: organizationId }, { $inc: { [this.#field]: -1 } } as UpdateFilter<OrganizationCountDocument>);
  }
}
