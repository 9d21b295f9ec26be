import type { RateLimitCounterRepository, RateLimitSlotCount, RateLimitSlotIncrement } from "../store.js";

/**
 * Counts per bucket and slot. The embedded store serves one process, whose limiter already counts
 * exactly, so keygate itself does not share through it; it is here so the fleet logic and the
 * store contract are tested without MongoDB.
 */
export class MemoryRateLimitCounters implements RateLimitCounterRepository {
  readonly #slots = new Map<string, Map<number, { count: number; expiresAtMs: number }>>();
  /** The newest slot start seen: the callers' clock, by which expired slots are dropped. */
  #latestMs = -Infinity;

  async add(increments: RateLimitSlotIncrement[]): Promise<void> {
    for (const { bucket, slotStartMs, count, expiresAtMs } of increments) {
      let slots = this.#slots.get(bucket);
      if (slots === undefined) this.#slots.set(bucket, (slots = new Map()));
      const slot = slots.get(slotStartMs);
      if (slot === undefined) slots.set(slotStartMs, { count, expiresAtMs });
      else slot.count += count;
      this.#latestMs = Math.max(this.#latestMs, slotStartMs);
    }
    for (const [bucket, slots] of this.#slots) {
      for (const [start, slot] of slots) if (slot.expiresAtMs <= this.#latestMs) slots.delete(start);
      if (slots.size === 0) this.#slots.delete(bucket);
    }
  }

  async read(buckets: { bucket: string; sinceMs: number }[]): Promise<RateLimitSlotCount[]> {
    const counts: RateLimitSlotCount[] = [];
    for (const { bucket, sinceMs } of buckets) {
      for (const [slotStartMs, slot] of this.#slots.get(bucket) ?? []) {
        if (slotStartMs >= sinceMs) counts.push({ bucket, slotStartMs, count: slot.count });
      }
    }
    return counts;
  }
}
