import { describe, expect, it } from "vitest";
import { syncFleetRateLimits } from "../../src/limits/fleet-rate-limits.js";
import { SlidingWindowLimiter, type RateLimitRule } from "../../src/limits/rate-limiter.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { RateLimitCounterRepository } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";

/**
 * Replicas sharing rate-limit counts through one store: decisions stay local, counts are
 * exchanged by syncFleetRateLimits. Each replica is a SlidingWindowLimiter of its own.
 */
const MINUTE: RateLimitRule = { limit: 100, period: "minute" };

function fleet(replicas: number, counters: RateLimitCounterRepository = new MemoryStore().rateLimitCounters) {
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
  const limiters = Array.from({ length: replicas }, () => new SlidingWindowLimiter({ clock, shared: true }));
  const syncAll = () => Promise.all(limiters.map((limiter) => syncFleetRateLimits(limiter, counters)));
  return { clock, limiters, counters, syncAll };
}

describe("rate limits shared across replicas", () => {
  it("two replicas syncing every 10 requests admit the limit plus at most one sync's worth, not twice it", async () => {
    const { clock, limiters, syncAll } = fleet(2);
    let admitted = 0;
    for (let i = 0; i < 400; i++) {
      if (limiters[i % 2]!.take("key/k1/minute", MINUTE, clock.now()).admitted) admitted++;
      clock.advance(10);
      if (i % 10 === 9) await syncAll();
    }
    // Between syncs each replica admits up to 5 it does not know the other has: at most 5 over.
    expect(admitted).toBeGreaterThanOrEqual(100);
    expect(admitted).toBeLessThanOrEqual(105);
  });

  it("without syncing the same two replicas admit twice the limit (what the sync prevents)", () => {
    const { clock, limiters } = fleet(2);
    let admitted = 0;
    for (let i = 0; i < 400; i++) {
      if (limiters[i % 2]!.take("key/k1/minute", MINUTE, clock.now()).admitted) admitted++;
      clock.advance(10);
    }
    expect(admitted).toBe(200);
  });

  it("a replica sees the others' requests at its next sync, in remaining and in the reset time", async () => {
    const { clock, limiters, counters } = fleet(3);
    const [a, b, c] = limiters;
    for (let i = 0; i < 30; i++) a!.take("key/k1/minute", MINUTE, clock.now());
    clock.advance(5_000);
    for (let i = 0; i < 20; i++) b!.take("key/k1/minute", MINUTE, clock.now());
    c!.take("key/k1/minute", MINUTE, clock.now());
    await syncFleetRateLimits(a!, counters);
    expect(a!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(70); // nobody else had pushed
    await syncFleetRateLimits(b!, counters);
    await syncFleetRateLimits(c!, counters);
    expect(b!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(50);
    expect(c!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(49);
    // A replica reads the buckets it counted in since its last sync: a learns of b's and c's with
    // its next request's sync (the request decided before it is what the documented bound allows).
    a!.take("key/k1/minute", MINUTE, clock.now());
    await syncFleetRateLimits(a!, counters);
    expect(a!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(48);
    // a's 30 leave the window a minute (and one slot) after they were made; the rest five seconds later.
    clock.advance(56_001);
    expect(a!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(78);
    clock.advance(5_000);
    expect(a!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(100);
  });

  it("buckets are independent: one key's requests never count against another's", async () => {
    const { clock, limiters, syncAll } = fleet(2);
    for (let i = 0; i < 60; i++) limiters[0]!.take("key/k1/minute", MINUTE, clock.now());
    for (let i = 0; i < 10; i++) limiters[1]!.take("key/k2/minute", MINUTE, clock.now());
    await syncAll();
    await syncAll();
    expect(limiters[1]!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(100); // no local window: fresh
    limiters[1]!.take("key/k1/minute", MINUTE, clock.now());
    await syncAll();
    expect(limiters[1]!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(39);
    expect(limiters[0]!.peek("key/k2/minute", MINUTE, clock.now()).remaining).toBe(100);
  });

  it("a failed push loses no count: the increments are pushed with the next sync", async () => {
    const store = new MemoryStore().rateLimitCounters;
    let down = true;
    const flaky: RateLimitCounterRepository = {
      add: (increments) => (down ? Promise.reject(new Error("store down")) : store.add(increments)),
      read: (buckets) => (down ? Promise.reject(new Error("store down")) : store.read(buckets)),
    };
    const { clock, limiters } = fleet(2, flaky);
    const [a, b] = limiters;
    for (let i = 0; i < 70; i++) a!.take("key/k1/minute", MINUTE, clock.now());
    await expect(syncFleetRateLimits(a!, flaky)).rejects.toThrow("store down");
    // While the store is down b knows nothing of a's and limits on its own counts.
    expect(b!.take("key/k1/minute", MINUTE, clock.now()).admitted).toBe(true);
    down = false;
    clock.advance(2_000);
    await syncFleetRateLimits(a!, flaky);
    await syncFleetRateLimits(b!, flaky);
    expect(b!.peek("key/k1/minute", MINUTE, clock.now()).remaining).toBe(29);
    expect((await store.read([{ bucket: "key/k1/minute", sinceMs: 0 }])).reduce((sum, slot) => sum + slot.count, 0)).toBe(71);
  });

  it("increments whose slot left the window while the store was down are not pushed late", async () => {
    const store = new MemoryStore().rateLimitCounters;
    let down = true;
    const flaky: RateLimitCounterRepository = {
      add: (increments) => (down ? Promise.reject(new Error("store down")) : store.add(increments)),
      read: (buckets) => store.read(buckets),
    };
    const { clock, limiters } = fleet(1, flaky);
    const [a] = limiters;
    for (let i = 0; i < 10; i++) a!.take("key/k1/second", { limit: 100, period: "second" }, clock.now());
    await expect(syncFleetRateLimits(a!, flaky)).rejects.toThrow();
    clock.advance(5_000);
    a!.take("key/k1/second", { limit: 100, period: "second" }, clock.now());
    down = false;
    await syncFleetRateLimits(a!, flaky);
    expect((await store.read([{ bucket: "key/k1/second", sinceMs: 0 }])).map((slot) => slot.count)).toEqual([1]);
  });

  it("pushes nothing and reads nothing when nothing was counted", async () => {
    const calls: string[] = [];
    const spy: RateLimitCounterRepository = {
      add: async () => void calls.push("add"),
      read: async () => (calls.push("read"), []),
    };
    const { clock, limiters } = fleet(1, spy);
    await syncFleetRateLimits(limiters[0]!, spy);
    limiters[0]!.peek("key/k1/minute", MINUTE, clock.now());
    await syncFleetRateLimits(limiters[0]!, spy);
    expect(calls).toEqual([]);
    limiters[0]!.take("key/k1/minute", MINUTE, clock.now());
    await syncFleetRateLimits(limiters[0]!, spy);
    await syncFleetRateLimits(limiters[0]!, spy);
    expect(calls).toEqual(["add", "read"]);
  });
});
