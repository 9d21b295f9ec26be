import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { Store } from "../../../src/store/store.js";

/** Rate-limit counters shared between replicas: increments added per bucket and slot, and read back. */
export function describeRateLimitCountersContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  describe("rate-limit counters", () => {
    // Slot starts far in the future of the expiry times used elsewhere: nothing here has expired.
    const slotAt = (minute: number) => Date.UTC(2031, 2, 2, 11, minute);
    const increment = (bucket: string, minute: number, count: number) => ({
      bucket,
      slotStartMs: slotAt(minute),
      count,
      expiresAtMs: slotAt(minute) + 3_600_000,
    });
    const sorted = (counts: { bucket: string; slotStartMs: number; count: number }[]) =>
      [...counts].sort((x, y) => x.bucket.localeCompare(y.bucket) || x.slotStartMs - y.slotStartMs);

    it("adds increments per bucket and slot, and reads each bucket's slots since its start", async () => {
      const [a, b] = [`key/${newId("key")}/minute`, `org/${newId("org")}`];
      await store.rateLimitCounters.add([increment(a, 1, 3), increment(a, 2, 1), increment(b, 1, 7)]);
      await store.rateLimitCounters.add([increment(a, 1, 2), increment(b, 3, 1)]);
      expect(sorted(await store.rateLimitCounters.read([{ bucket: a, sinceMs: slotAt(0) }]))).toEqual([
        { bucket: a, slotStartMs: slotAt(1), count: 5 },
        { bucket: a, slotStartMs: slotAt(2), count: 1 },
      ]);
      expect(sorted(await store.rateLimitCounters.read([{ bucket: a, sinceMs: slotAt(2) }, { bucket: b, sinceMs: slotAt(1) }]))).toEqual([
        { bucket: a, slotStartMs: slotAt(2), count: 1 },
        { bucket: b, slotStartMs: slotAt(1), count: 7 },
        { bucket: b, slotStartMs: slotAt(3), count: 1 },
      ]);
      // Buckets sharing a start, and one that does not.
      expect(sorted(await store.rateLimitCounters.read([{ bucket: a, sinceMs: slotAt(2) }, { bucket: b, sinceMs: slotAt(2) }, { bucket: `org/${newId("org")}`, sinceMs: 0 }]))).toEqual([
        { bucket: a, slotStartMs: slotAt(2), count: 1 },
        { bucket: b, slotStartMs: slotAt(3), count: 1 },
      ]);
      expect(await store.rateLimitCounters.read([{ bucket: `key/${newId("key")}/minute`, sinceMs: 0 }])).toEqual([]);
      expect(await store.rateLimitCounters.read([])).toEqual([]);
      await store.rateLimitCounters.add([]);
    });

    it("concurrent increments of one slot all count (replicas pushing at once)", async () => {
      const bucket = `key/${newId("key")}/minute`;
      await Promise.all(Array.from({ length: 20 }, () => store.rateLimitCounters.add([increment(bucket, 4, 1)])));
      expect(await store.rateLimitCounters.read([{ bucket, sinceMs: 0 }])).toEqual([{ bucket, slotStartMs: slotAt(4), count: 20 }]);
    });
  });
}
