import { LRUCache } from "lru-cache";
import { describe, expect, it } from "vitest";
import { growingEntryBound } from "../../src/model/entry-bound.js";

describe("growingEntryBound", () => {
  it("bounds a cache by entries as max does, evicting the least recently used", () => {
    const evicted: string[] = [];
    const cache = new LRUCache<string, number>({ ...growingEntryBound(3), dispose: (_value, key, reason) => reason === "evict" && evicted.push(key) });
    for (const [i, key] of ["a", "b", "c"].entries()) cache.set(key, i);
    cache.get("a");
    cache.set("d", 3);
    cache.set("e", 4);
    expect([...cache.keys()].sort()).toEqual(["a", "d", "e"]);
    expect(evicted).toEqual(["b", "c"]);
    expect(cache.size).toBe(3);
  });

  it("allocates nothing for the entries it may hold one day", () => {
    const before = process.memoryUsage().arrayBuffers;
    const caches = Array.from({ length: 20 }, () => new LRUCache<string, number>(growingEntryBound(1_000_000)));
    // With max: 1,000,000 each would hold typed arrays of several MB from the start.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1_000_000);
    expect(caches.every((cache) => cache.size === 0)).toBe(true);
  });

  it("refuses a bound that is not a positive integer", () => {
    for (const bound of [0, -1, 1.5, Number.NaN]) expect(() => growingEntryBound(bound)).toThrow(RangeError);
  });
});
