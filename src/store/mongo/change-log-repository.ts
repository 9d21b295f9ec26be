import { ObjectId, type Collection, type IndexDescription } from "mongodb";
import type { ChangeLogEntry, ChangeLogRepository, StoreChange } from "../store.js";

export interface ChangeLogDocument {
  _id: ObjectId;
  origin: string;
  /** Stamped by the server ($$NOW): every replica compares against the same clock. */
  at: Date;
  kind: StoreChange["kind"];
  hashes?: string[];
  organizationId?: string;
}

/** How long an entry is kept (TTL index): far longer than any replica's look-back window. */
export const CHANGE_LOG_RETENTION_SECONDS = 600;

export class MongoChangeLogRepository implements ChangeLogRepository {
  static readonly indexes: IndexDescription[] = [
    { key: { at: 1 }, name: "at_ttl", expireAfterSeconds: CHANGE_LOG_RETENTION_SECONDS },
  ];

  constructor(private readonly collection: Collection<ChangeLogDocument>) {}

  async append(origin: string, change: StoreChange): Promise<void> {
    const fields = change.kind === "key" ? { hashes: change.hashes } : { organizationId: change.organizationId };
    // An upsert with a pipeline, so `at` is the server's time, not this replica's.
    await this.collection.updateOne(
      { _id: new ObjectId() },
      [{ $set: { origin, kind: change.kind, ...fields, at: "$$NOW" } }],
      { upsert: true },
    );
  }

  async recent(windowMs: number): Promise<ChangeLogEntry[]> {
    const documents = await this.collection
      .find({ $expr: { $gte: ["$at", { $subtract: ["$$NOW", windowMs] }] } })
      .sort({ at: 1 })
      .toArray();
    const entries: ChangeLogEntry[] = [];
    for (const document of documents) {
      const id = document._id.toHexString();
      if (document.kind === "key" && Array.isArray(document.hashes)) {
        entries.push({ id, origin: document.origin, change: { kind: "key", hashes: document.hashes } });
      } else if (document.kind === "organization" && typeof document.organizationId === "string") {
        entries.push({ id, origin: document.origin, change: { kind: "organization", organizationId: document.organizationId } });
      }
    }
    return entries;
  }
}
