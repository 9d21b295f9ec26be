import { randomUUID } from "node:crypto";
import { ObjectId, type ChangeStreamInsertDocument, type Collection, type Db, type IndexDescription, type Timestamp } from "mongodb";
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
   * one that the election then rolls back. Bounded by the read deadline on the client too: a read
   * sent to a primary that then stops answering without closing its connections (a host lost, a
   * partition) would otherwise hold the poll until the socket timeout (15 s), and with it every
   * change the surviving members already hold, a revoke included. Seen in the election suite,
   * most likely so: a revoke reached the other replica 13.7 s after it was acknowledged.
   */
  async recent(windowMs: number): Promise<ChangeLogEntry[]> {
    const reading = this.collection
      .find(
        { $expr: { $gte: ["$at", { $subtract: ["$$NOW", windowMs] }] } },
        { readPreference: "primaryPreferred", readConcern: { level: "majority" }, maxTimeMS: this.readTimeoutMs },
      )
      .sort({ at: 1 })
      .toArray();
    const documents = await withinReadDeadline(reading, this.readTimeoutMs, "reading the change log");
    return documents.flatMap((document) => entryOf(document) ?? []);
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

/** The entry a stored document holds; null for a document of neither known shape. */
function entryOf(document: ChangeLogDocument): ChangeLogEntry | null {
  const id = document._id.toHexString();
  if (document.kind === "key" && Array.isArray(document.hashes) && document.key !== undefined) {
    return { id, change: { kind: "key", hashes: document.hashes, key: document.key && toRecord(document.key) } };
  }
  if (document.kind === "organization" && typeof document.organizationId === "string") {
    return { id, change: { kind: "organization", organizationId: document.organizationId } };
  }
  return null;
}

/** The key as its entry stores it: the sealed secret stays in the keys collection only. */
function keyDocumentOf(key: KeyRecord): KeyDocument {
  const { encryptedSecret: _sealed, ...withoutSecret } = key;
  return toDocument(withoutSecret);
}
