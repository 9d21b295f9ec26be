import type { AnyBulkWriteOperation, Collection, IndexDescription } from "mongodb";
import type { RateLimitCounterRepository, RateLimitSlotCount, RateLimitSlotIncrement } from "../store.js";

/** One slot of one bucket, every replica's admitted requests in it. */
export interface RateLimitSlotDocument {
  /** `${bucket}@${slotStartMs}`: one document per slot, so an increment is one atomic $inc. */
  _id: string;
  bucket: string;
  slotStartMs: number;
  count: number;
  /** TTL: the slot has left every window that could count it. */
  expiresAt: Date;
}

export class MongoRateLimitCounters implements RateLimitCounterRepository {
  static readonly indexes: IndexDescription[] = [
    { key: { bucket: 1, slotStartMs: 1 }, name: "bucket_slot" },
    { key: { expiresAt: 1 }, name: "expires_ttl", expireAfterSeconds: 0 },
  ];

  constructor(private readonly collection: Collection<RateLimitSlotDocument>) {}

  async add(increments: RateLimitSlotIncrement[]): Promise<void> {
    if (increments.length === 0) return;
    const operations: AnyBulkWriteOperation<RateLimitSlotDocument>[] = increments.map(({ bucket, slotStartMs, count, expiresAtMs }) => ({
      updateOne: {
        filter: { _id: `${bucket}@${slotStartMs}` },
        update: { $inc: { count }, $setOnInsert: { bucket, slotStartMs, expiresAt: new Date(expiresAtMs) } },
        upsert: true,
      },
    }));
    // Unordered: the increments are independent, and one round trip carries them all.
    await this.collection.bulkWrite(operations, { ordered: false });
  }

  async read(buckets: { bucket: string; sinceMs: number }[]): Promise<RateLimitSlotCount[]> {
    if (buckets.length === 0) return [];
    // One clause per distinct start rather than per bucket: buckets of one period counted in the
    // same slot share it, so thousands of buckets make a handful of indexed $in clauses.
    const bySince = new Map<number, string[]>();
    for (const { bucket, sinceMs } of buckets) {
      const group = bySince.get(sinceMs);
      if (group === undefined) bySince.set(sinceMs, [bucket]);
      else group.push(bucket);
    }
    const clauses = [...bySince].map(([sinceMs, names]) => ({ bucket: { $in: names }, slotStartMs: { $gte: sinceMs } }));
    const documents = await this.collection
      .find(
        { $or: clauses },
        { projection: { _id: 0, bucket: 1, slotStartMs: 1, count: 1 } },
      )
      .toArray();
    return documents.map(({ bucket, slotStartMs, count }) => ({ bucket, slotStartMs, count }));
  }
}
