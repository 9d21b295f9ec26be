import type { Collection, IndexDescription } from "mongodb";
import type { DebitedRequestRepository } from "../debited-request-repository.js";
import { isDuplicateKeyError, RaceLost } from "./mongo-errors.js";

/** One debited request: the organization and Envoy's request id, unique together. */
export interface DebitedRequestDocument {
  organizationId: string;
  requestId: string;
  /** TTL: mongod drops the record once this has passed (within its minute-long sweep). */
  expiresAt: Date;
}

export class MongoDebitedRequestRepository implements DebitedRequestRepository {
  static readonly indexes: IndexDescription[] = [
    { key: { organizationId: 1, requestId: 1 }, name: "organization_request", unique: true },
    { key: { expiresAt: 1 }, name: "expires_ttl", expireAfterSeconds: 0 },
  ];

  constructor(
    private readonly collection: Collection<DebitedRequestDocument>,
    /** True inside a unit of work's transaction. */
    private readonly inTransaction: () => boolean,
  ) {}

  async record(organizationId: string, requestId: string, expiresAt: Date, now: Date): Promise<boolean> {
    try {
      // Matches only an expired record of the request (the TTL sweep may not have dropped it
      // yet); with none, the upsert inserts, and where a live one is there, the insert breaks
      // the unique index and nothing is written.
      await this.collection.replaceOne({ organizationId, requestId, expiresAt: { $lte: now } }, { organizationId, requestId, expiresAt }, { upsert: true });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // A transaction that broke an index is aborted: the unit runs again and finds the record.
      if (this.inTransaction()) throw new RaceLost("debited request recorded concurrently", { cause: error });
      return false;
    }
  }

  async forget(organizationId: string, requestId: string): Promise<void> {
    await this.collection.deleteOne({ organizationId, requestId });
  }
}
