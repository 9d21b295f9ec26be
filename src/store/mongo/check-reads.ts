import type { ReadPreferenceLike } from "mongodb";

/**
 * How the reads a Check depends on (a key by its hash, its organization's plan) are made: from
 * the primary when there is one, else from a secondary (while a primary is being elected, or
 * when none can be), so Checks of keys not cached keep being answered through an election; and
 * bounded on the server by the Check's own read deadline (KEYGATE_STORE_READ_TIMEOUT_MS), so a
 * read a client gave up on does not keep running. A secondary may be a moment behind: changes
 * reach Check's cache from the change log with the record as it is now (KeyCache.refresh), not
 * through these reads.
 */
export interface CheckReads {
  readonly readPreference: ReadPreferenceLike;
  readonly maxTimeMS: number;
}

export const checkReads = (readTimeoutMs: number): CheckReads => ({ readPreference: "primaryPreferred", maxTimeMS: readTimeoutMs });
