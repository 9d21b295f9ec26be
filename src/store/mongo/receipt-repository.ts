import type { Collection, IndexDescription } from "mongodb";
import type { Receipt, ReceiptRepository } from "../receipt-repository.js";
import { isDuplicateKeyError, RaceLost } from "./mongo-errors.js";

/** A receipt under its id; nothing in it names a caller, a key or a request. */
export interface ReceiptDocument {
  _id: string;
  sealed: { nonce: string; ciphertext: string };
  /** TTL: mongod drops the receipt once this has passed (within its minute-long sweep). */
  expiresAt: Date;
}

export class MongoReceiptRepository implements ReceiptRepository {
  static readonly indexes: IndexDescription[] = [{ key: { expiresAt: 1 }, name: "expires_ttl", expireAfterSeconds: 0 }];

  constructor(
    private readonly collection: Collection<ReceiptDocument>,
    /** True inside a unit of work's transaction. */
    private readonly inTransaction: () => boolean,
  ) {}

  async find(id: string, now: Date): Promise<Receipt | null> {
    // The TTL sweep runs once a minute, so an expired receipt may still be there.
    const document = await this.collection.findOne({ _id: id, expiresAt: { $gt: now } });
    return document === null ? null : { id: document._id, sealed: document.sealed, expiresAt: document.expiresAt };
  }

  async save(receipt: Receipt, now: Date): Promise<void> {
    const document: ReceiptDocument = { _id: receipt.id, sealed: receipt.sealed, expiresAt: receipt.expiresAt };
    try {
      // Matches only an expired receipt with this id; with none, the upsert inserts, and where a
      // live one holds the id, the insert breaks the _id index: nothing is written.
      await this.collection.replaceOne({ _id: receipt.id, expiresAt: { $lte: now } }, document, { upsert: true });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // Inside a transaction, another unit saved it since this one looked: run again and find it.
      if (this.inTransaction()) throw new RaceLost("idempotency receipt saved concurrently", { cause: error });
      throw new Error("duplicate receipt", { cause: error });
    }
  }
}
