import type { Collection, IndexDescription } from "mongodb";
import type { ReplicaRegistry } from "../store.js";

export interface ReplicaDocument {
  /** The replica's holder id in the budget windows. */
  _id: string;
  /** Until when it counts as live, on the primary's clock; TTL removes it some time after. */
  liveUntil: Date;
}

/**
 * Live replicas, each one document renewed on the primary's clock ($$NOW), so replicas whose
 * clocks disagree still agree on who is live. The TTL index only tidies up: liveness is read
 * from liveUntil, not from the document's presence.
 */
export class MongoReplicaRegistry implements ReplicaRegistry {
  static readonly indexes: IndexDescription[] = [{ key: { liveUntil: 1 }, name: "live_until_ttl", expireAfterSeconds: 60 }];

  constructor(private readonly collection: Collection<ReplicaDocument>) {}

  async announce(holder: string, ttlMs: number): Promise<number> {
    await this.collection.updateOne({ _id: holder }, [{ $set: { liveUntil: { $add: ["$$NOW", ttlMs] } } }], { upsert: true });
    return this.collection.countDocuments({ $expr: { $gt: ["$liveUntil", "$$NOW"] } });
  }

  async withdraw(holder: string): Promise<void> {
    await this.collection.deleteOne({ _id: holder });
  }
}
