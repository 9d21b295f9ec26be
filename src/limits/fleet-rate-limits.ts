import type { RateLimitCounterRepository } from "../store/store.js";
import type { SlidingWindowLimiter } from "./rate-limiter.js";

/**
 * Per-key rate limits and the organization's per-minute rate held across replicas, the way
 * Kong's cluster policy or Unkey's async limits do it: decisions stay local and synchronous (no
 * store round trip on Check), and every sync interval each replica
 *   1. adds the requests it admitted since the last sync, per bucket and slot, to the store's
 *      counts (one unordered bulk write of $inc), then
 *   2. reads back the fleet's counts of those buckets (one query) and takes the others' share
 *      into its windows.
 * A replica therefore decides with the others' counts as of its last sync at most one interval
 * plus a round trip ago: the fleet admits at most the limit plus what the replicas admit for
 * that bucket within that lag, beyond what they last read (docs/operating.md). When the store is
 * down the increments stay pending (and are pushed once it answers, as long as their slot is
 * still in the window), and each replica limits on what it knows: its own counts and the others'
 * as last read, which slide out of the window as usual.
 *
 * Throws when the store fails; the increments taken for the push are then given back. A push
 * whose outcome is unknown (the connection dropped after the write) is pushed again: the counts
 * then err on the strict side, never the lenient one.
 */
export async function syncFleetRateLimits(limiter: SlidingWindowLimiter, counters: RateLimitCounterRepository): Promise<void> {
  const { increments, buckets } = limiter.takeIncrements();
  if (buckets.length === 0) return;
  try {
    await counters.add(increments);
  } catch (error) {
    limiter.returnIncrements(increments);
    throw error;
  }
  // Read after the write: the fleet's counts then include this replica's pushed requests, which
  // the limiter subtracts to get the others'.
  limiter.applyFleetCounts(await counters.read(buckets));
}
