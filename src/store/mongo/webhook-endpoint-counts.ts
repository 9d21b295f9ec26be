import type { Collection } from "mongodb";
import { isDuplicateKeyError, RaceLost } from "./mongo-errors.js";

/**
 * One counter document per organization: how many webhook endpoints it holds. A place is taken by
 * a conditional `$inc` that matches only while the counter is below the limit, so creations
 * racing for the last place all write this one document: in a transaction (a replica set) all
 * but one conflict and run again, and then find the counter full; without transactions (a
 * standalone mongod) the conditional write is atomic on its own. A count of the endpoints and an
 * insert could not do this: two transactions inserting different documents both commit.
 *
 * The endpoint repository takes a place before inserting an endpoint and gives it back after
 * deleting one, in the same unit of work. Without transactions the counter is so never below the
 * endpoints there are: a failure in between can only refuse a creation that was allowed.
 *
 * A counter is created on first use by counting the organization's endpoints. Creating and
 * deleting an endpoint both call `ensure` first, so no endpoint comes or goes between that
 * count and the counter's creation.
 */
export interface WebhookEndpointCountDocument {
  /** The organization id. */
  _id: string;
  endpoints: number;
}

export class WebhookEndpointCounts {
  readonly #counts: Collection<WebhookEndpointCountDocument>;
  readonly #countEndpoints: (organizationId: string) => Promise<number>;
  readonly #inTransaction: () => boolean;

  constructor(counts: Collection<WebhookEndpointCountDocument>, countEndpoints: (organizationId: string) => Promise<number>, inTransaction: () => boolean) {
    this.#counts = counts;
    this.#countEndpoints = countEndpoints;
    this.#inTransaction = inTransaction;
  }

  async ensure(organizationId: string): Promise<void> {
    if ((await this.#counts.countDocuments({ _id: organizationId }, { limit: 1 })) > 0) return;
    const endpoints = await this.#countEndpoints(organizationId);
    try {
      await this.#counts.insertOne({ _id: organizationId, endpoints });
    } catch (error) {
      // Another writer created it first, from the same count; a transaction that lost the race is
      // aborted by the failed write and runs again.
      if (!isDuplicateKeyError(error)) throw error;
      if (this.#inTransaction()) throw new RaceLost("webhook endpoint counter created concurrently", { cause: error });
    }
  }

  /** Takes a place if fewer than `max` are held; false when the organization holds `max`. Call ensure first. */
  async take(organizationId: string, max: number): Promise<boolean> {
    const result = await this.#counts.updateOne({ _id: organizationId, endpoints: { $lt: max } }, { $inc: { endpoints: 1 } });
    return result.modifiedCount === 1;
  }

  /** Gives a place back: an endpoint deleted, or one not inserted after all. Call ensure first. */
  async release(organizationId: string): Promise<void> {
    await this.#counts.updateOne({ _id: organizationId }, { $inc: { endpoints: -1 } });
  }
}
