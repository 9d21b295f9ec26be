import type { Collection } from "mongodb";
import type { CheckReads } from "./check-reads.js";
import type { KeyDocument } from "./key-document.js";
import { BatchedLookups, type BatchedLookupOptions } from "./batched-lookups.js";

/** The key whose current or previous secret has the hash, or null. */
export type FindKeyByHash = (secretHash: string) => Promise<KeyDocument | null>;

/**
 * Keys by the hash of a secret they answer to, looked up in batches with other callers'
 * (batched-lookups.ts): one `find` per batch, `$in` on each of the two unique hash indexes (the
 * current secret's and, during a rotation's grace period, the previous one's), read as Check
 * reads (check-reads.ts: a secondary while there is no primary, bounded by the read deadline).
 * A hash that is one key's current secret and another's previous one answers with the current
 * one's key. Inside a unit of work (`inUnit()`) a lookup goes alone: it must read in the unit's
 * own session, which a batch shared with callers outside it cannot.
 */
export function keysByHash(
  keys: Collection<KeyDocument>,
  reads: CheckReads,
  inUnit: () => boolean,
  options?: BatchedLookupOptions,
): FindKeyByHash {
  const load = async (hashes: string[]): Promise<Map<string, KeyDocument>> => {
    const asked = new Set(hashes);
    // Each hash matches at most two keys: all of them come in the first reply, with no getMore.
    const docs = await keys
      .find({ $or: [{ secretHash: { $in: hashes } }, { "previousSecret.hash": { $in: hashes } }] }, { ...reads, batchSize: 2 * hashes.length })
      .toArray();
    const found = new Map<string, KeyDocument>();
    for (const doc of docs) {
      const previous = doc.previousSecret?.hash;
      if (previous !== undefined && asked.has(previous)) found.set(previous, doc);
    }
    // Current secrets last, so they take the place of a previous-secret match.
    for (const doc of docs) if (asked.has(doc.secretHash)) found.set(doc.secretHash, doc);
    return found;
  };
  const batches = new BatchedLookups(load, options);
  return async (secretHash) => (inUnit() ? ((await load([secretHash])).get(secretHash) ?? null) : batches.get(secretHash));
}
