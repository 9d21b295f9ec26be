import type { Collection, IndexDescription } from "mongodb";
import { DELETED_KEY_RETENTION_MS, deletedKeyOf, type DeletedKey, type DeletedKeyRepository } from "../deleted-key-repository.js";
import type { KeyRecord } from "../../model/records.js";
import type { StoredRecord } from "./documents.js";

/** A deleted key under its id: public fields and the hashes it had, never a secret. */
export type DeletedKeyDocument = StoredRecord<DeletedKey>;

export class MongoDeletedKeyRepository implements DeletedKeyRepository {
  static readonly indexes: IndexDescription[] = [
    // findByHash: a key's one or two hashes, each held by one deleted key.
    { key: { secretHashes: 1 }, name: "secretHashes" },
    // mongod drops a deleted key once the retention has passed (within its minute-long sweep).
    { key: { deletedAt: 1 }, name: "deletedAt_ttl", expireAfterSeconds: DELETED_KEY_RETENTION_MS / 1000 },
  ];

  constructor(
    private readonly collection: Collection<DeletedKeyDocument>,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async findByHash(secretHash: string): Promise<DeletedKey | null> {
    // The TTL sweep runs once a minute, so one just past the retention may still be there.
    const doc = await this.collection.findOne({ secretHashes: secretHash, deletedAt: { $gt: new Date(this.nowMs() - DELETED_KEY_RETENTION_MS) } });
    if (doc === null) return null;
    const { _id, organizationId, name, keyPrefix, environment, secretHashes, deletedAt } = doc;
    return { id: _id, organizationId, name, keyPrefix, environment, secretHashes, deletedAt };
  }

  /**
   * Called by the key repository inside the delete's unit of work (the collection joins its
   * transaction). A replace by id, so a unit run again without a transaction writes it once.
   */
  async remember(key: KeyRecord): Promise<void> {
    const { id, ...fields } = deletedKeyOf(key, new Date(this.nowMs()));
    await this.collection.replaceOne({ _id: id }, fields, { upsert: true });
  }
}
