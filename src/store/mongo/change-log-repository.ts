import { randomUUID } from "node:crypto";
import { ObjectId, type ChangeStreamInsertDocument, type Collection, type Db, type IndexDescription, type ServerDescriptionChangedEvent, type Timestamp } from "mongodb";
import type { ChangeLogEntry, ChangeLogRepository, ChangeLogStream, StoreChange } from "../store.js";
import { toDocument } from "./documents.js";
import { withinReadDeadline } from "./read-deadline.js";
import { toRecord, type KeyDocument } from "./key-document.js";
import type { KeyRecord } from "../../model/records.js";

export interface ChangeLogDocument {
  _id: ObjectId;
  origin: string;
  /** Stamped by the server ($$NOW): every replica compares against the same clock. */
  at: Date;
  kind: StoreChange["kind"];
  hashes?: string[];
  /** The key after the change, without its sealed secret; null when it was deleted. */
  key?: KeyDocument | null;
  organizationId?: string;
  /** An identity's entry: the identity changed or deleted. */
  identityId?: string;
}

/** How long an entry is kept (TTL index): far longer than any replica's look-back window. */
export const CHANGE_LOG_RETENTION_SECONDS = 600;

/** The parts of the `hello` reply that say whether the deployment has an oplog to stream from. */
interface HelloReply {
  /** Present on replica set members. */
  setName?: string;
  /** "isdbgrid" from a mongos (sharded cluster). */
  msg?: string;
  /** The deployment's logical time, on replica sets and sharded clusters. */
  operationTime?: Timestamp;
}

export class MongoChangeLogRepository implements ChangeLogRepository {
  static readonly indexes: IndexDescription[] = [
    { key: { at: 1 }, name: "at_ttl", expireAfterSeconds: CHANGE_LOG_RETENTION_SECONDS },
  ];

  /** Which process wrote an entry, for whoever reads the collection (keygate itself applies every entry). */
  readonly origin = randomUUID();

  /** `db` holds `collection`; it is asked (`hello`) whether change streams are available. */
  constructor(
    private readonly collection: Collection<ChangeLogDocument>,
    private readonly db: Db,
    /** How long one read of the log may take, client side (KEYGATE_STORE_READ_TIMEOUT_MS). */
    private readonly readTimeoutMs: number,
  ) {}

  /**
   * Appends this store's entry for a change. The repositories call it inside the unit of work
   * that makes the change (the collection joins its transaction), so both commit or neither.
   */
  async append(change: StoreChange): Promise<void> {
    const fields =
      change.kind === "key"
        ? { hashes: change.hashes, key: change.key && { $literal: keyDocumentOf(change.key) } }
        : change.kind === "identity"
          ? { organizationId: change.organizationId, identityId: change.identityId }
          : { organizationId: change.organizationId };
    // An upsert with a pipeline, so `at` is the server's time, not this replica's. It inserts, so
    // change streams see it as an insert event.
    await this.collection.updateOne(
      { _id: new ObjectId() },
      [{ $set: { origin: this.origin, kind: change.kind, ...fields, at: "$$NOW" } }],
      { upsert: true },
    );
  }

  /**
   * Read from any member (a secondary while the primary is being elected), majority-committed
   * only, like the change stream: replicas keep applying changes through an election, and never
   * one that the election then rolls back.
   *
   * A read the primary has not answered within the read deadline is asked again of a secondary.
   * A primary can stop answering without closing its connections (a host lost, a partition, a
   * process killed under some network stacks); the driver then goes on choosing it until its
   * heartbeat or the new primary says otherwise, and the poll waited for the socket timeout
   * (15 s), or until the new primary, while the surviving members already held every change it
   * had acknowledged. Seen in CI's election suite: a revoke reached the other replica 13.6 s
   * after it was acknowledged, 3.2 s after the new primary. A secondary's majority-committed
   * log is as safe to apply as the primary's, only possibly a moment behind, which the next poll
   * makes up.
   */
  async recent(windowMs: number): Promise<ChangeLogEntry[]> {
    let documents: ChangeLogDocument[];
    try {
      documents = await this.#recentFrom("primaryPreferred", windowMs);
    } catch {
      documents = await this.#recentFrom("secondaryPreferred", windowMs);
    }
    return documents.flatMap((document) => entryOf(document) ?? []);
  }

  #recentFrom(readPreference: "primaryPreferred" | "secondaryPreferred", windowMs: number): Promise<ChangeLogDocument[]> {
    const reading = this.collection
      .find({ $expr: { $gte: ["$at", { $subtract: ["$$NOW", windowMs] }] } }, { readPreference, readConcern: { level: "majority" }, maxTimeMS: this.readTimeoutMs })
      .sort({ at: 1 })
      .toArray();
    return withinReadDeadline(reading, this.readTimeoutMs, `reading the change log (${readPreference})`);
  }

  /**
   * The driver's view of the set: a member it now sees as primary that it did not before. It
   * learns of a new primary from the surviving members' replies even while the old one's
   * connections hang unanswered.
   */
  onNewPrimary(listener: () => void): () => void {
    const client = this.db.client;
    const changed = (event: ServerDescriptionChangedEvent) => {
      if (event.newDescription.type === "RSPrimary" && event.previousDescription.type !== "RSPrimary") listener();
    };
    client.on("serverDescriptionChanged", changed);
    return () => void client.off("serverDescriptionChanged", changed);
  }

  /**
   * A change stream of the inserts, on a replica set or a sharded cluster; null on a standalone,
   * which has no oplog to stream from. It starts at the deployment's time when `hello` answered
   * (inclusive), not when the driver sends its first aggregate, so nothing appended after this
   * resolves is missed. The driver resumes it by itself after resumable errors (a dropped
   * connection, a new primary); what it cannot resume ends the iteration with the error.
   */
  async watch(): Promise<ChangeLogStream | null> {
    const hello = (await this.db.command({ hello: 1 })) as HelloReply;
    if (hello.setName === undefined && hello.msg !== "isdbgrid") return null;
    const stream = this.collection.watch<ChangeLogDocument, ChangeStreamInsertDocument<ChangeLogDocument>>(
      [{ $match: { operationType: "insert" } }],
      { startAtOperationTime: hello.operationTime },
    );
    return {
      async *[Symbol.asyncIterator]() {
        for await (const event of stream) {
          const entry = entryOf(event.fullDocument);
          if (entry !== null) yield entry;
        }
      },
      close: () => stream.close(),
    };
  }
}

/** The entry a stored document holds; null for a document of no known shape. */
function entryOf(document: ChangeLogDocument): ChangeLogEntry | null {
  const id = document._id.toHexString();
  if (document.kind === "key" && Array.isArray(document.hashes) && document.key !== undefined) {
    return { id, change: { kind: "key", hashes: document.hashes, key: document.key && toRecord(document.key) } };
  }
  if (document.kind === "organization" && typeof document.organizationId === "string") {
    return { id, change: { kind: "organization", organizationId: document.organizationId } };
  }
  if (document.kind === "identity" && typeof document.organizationId === "string" && typeof document.identityId === "string") {
    return { id, change: { kind: "identity", organizationId: document.organizationId, identityId: document.identityId } };
  }
  return null;
}

/** The key as its entry stores it: the sealed secret stays in the keys collection only. */
function keyDocumentOf(key: KeyRecord): KeyDocument {
  const { encryptedSecret: _sealed, ...withoutSecret } = key;
  return toDocument(withoutSecret);
}
