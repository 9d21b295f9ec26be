import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Document, type UpdateFilter } from "mongodb";

/**
 * `$inc` upserts that take effect once per batch: each document remembers the ids of the last
 * batches applied to it (`flushIds`), and an update only matches while its batch id is not among
 * them. Applying a batch again after a failure, or after a lost acknowledgement, therefore adds
 * nothing to the documents it already reached and the missing increments to the others.
 *
 * When the filter does not match because the batch was applied, the upsert tries to insert a
 * second document with the same `_id` and fails with E11000. The same error also comes from two
 * writers creating one document at the same moment, so duplicates are sent once more: the document
 * exists by then, so a second E11000 can only mean this batch's increments are in it.
 */

/** Batch ids a document remembers: a retry always comes before this many later batches. */
export const REMEMBERED_BATCHES = 16;

/** Errors a write will meet again however often it is retried. */
const PERMANENT_WRITE_ERRORS = new Set([
  2, // BadValue
  9, // FailedToParse
  14, // TypeMismatch
  52, // DollarPrefixedFieldName
  55, // InvalidDBRef
  56, // EmptyFieldName
  57, // DottedFieldName
  121, // DocumentValidationFailure
  10334, // BSONObjectTooLarge
  17419, // document would grow beyond 16 MB
]);
const DUPLICATE_KEY = 11000;

export interface BatchUpsert<T extends Document> {
  _id: string;
  /**
   * The document's shard key fields (shard-keys.ts), matched beside `_id`: on a sharded cluster
   * an upsert must name its whole shard key, or mongos cannot route it.
   */
  shardKey?: Partial<T>;
  update: UpdateFilter<T>;
}

export interface RefusedUpsert {
  index: number;
  reason: string;
}

type BatchDocument = Document & { _id: string; flushIds: string[] };

/**
 * Applies every upsert of the batch at most once; returns those the server refused for good.
 * Throws on anything that may succeed later (network, write concern, shutdown): apply it again.
 */
export async function upsertOnce<T extends BatchDocument>(
  collection: Collection<T>,
  batchId: string,
  upserts: readonly BatchUpsert<T>[],
): Promise<RefusedUpsert[]> {
  const refused: RefusedUpsert[] = [];
  let pending = upserts.map((_, index) => index);
  for (let round = 0; round < 2 && pending.length > 0; round++) {
    const operations = pending.map(
      (index): AnyBulkWriteOperation<T> => ({
        updateOne: {
          filter: { _id: upserts[index]!._id, ...upserts[index]!.shardKey, flushIds: { $ne: batchId } } as never,
          update: { ...upserts[index]!.update, $push: { flushIds: { $each: [batchId], $slice: -REMEMBERED_BATCHES } } } as never,
          upsert: true,
        },
      }),
    );
    try {
      await collection.bulkWrite(operations, { ordered: false });
      return refused;
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const writeErrors = [error.writeErrors].flat();
      if (writeErrors.length === 0) throw error;
      const duplicates: number[] = [];
      for (const writeError of writeErrors) {
        const index = pending[writeError.index]!;
        if (writeError.code === DUPLICATE_KEY) duplicates.push(index);
        else if (PERMANENT_WRITE_ERRORS.has(writeError.code)) refused.push({ index, reason: writeError.errmsg ?? `code ${writeError.code}` });
        else throw error;
      }
      // A write-concern failure leaves what was written in doubt: the whole batch goes again.
      if (error.err !== undefined) throw error;
      pending = round === 0 ? duplicates : [];
    }
  }
  return refused;
}
