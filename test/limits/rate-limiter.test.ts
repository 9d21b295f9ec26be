import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PERIOD_MS, SlidingWindowLimiter, type RateLimitRule } from "../../src/limits/rate-limiter.js";
import type { RateLimitPeriod } from "../../src/model/records.js";
import { ManualClock } from "../../src/time/clock.js";

const MINUTE: RateLimitRule = { limit: 100, period: "minute" };

function setup(start = Date.UTC(2026, 0, 15, 12, 0, 0)) {
  const clock = new ManualClock(start);
  return { clock, limiter: new SlidingWindowLimiter({ clock, maxBuckets: 2_000 }) };
}

function burst(limiter: SlidingWindowLimiter, clock: ManualClock, n: number, rule = MINUTE, bucket = "k"): number {
  let admitted = 0;
  for (let i = 0; i < n; i++) if (limiter.take(bucket, rule, clock.now()).admitted) admitted++;
  return admitted;
}

describe("SlidingWindowLimiter", () => {
  it("admits the limit, then refuses", () => {
    const { clock, limiter } = setup();
    expect(burst(limiter, clock, 150)).toBe(100);
  });

  it("no double burst at a window edge: 100 at 0:59.9 and nothing more at 1:00.1", () => {
    const { clock, limiter } = setup();
    clock.advance(59_900);
    expect(burst(limiter, clock, 100)).toBe(100);
    clock.advance(200); // a fixed window would have reset here
    expect(burst(limiter, clock, 100)).toBe(0);
    clock.set(Date.UTC(2026, 0, 15, 12, 0, 59, 900) + 59_000);
    expect(burst(limiter, clock, 100)).toBe(0);
    clock.set(Date.UTC(2026, 0, 15, 12, 0, 59, 0) + 61_000);
    expect(burst(limiter, clock, 100)).toBe(100);
  });

  it("capacity returns up to one slot late, never early", () => {
    const { clock, limiter } = setup();
    const rule = { limit: 1, period: "minute" } as const;
    clock.advance(999); // the end of a one-second slot
    expect(limiter.take("k", rule, clock.now()).admitted).toBe(true);
    clock.advance(59_001); // exactly a minute after the slot began: still inside the request's minute
    expect(limiter.take("k", rule, clock.now()).admitted).toBe(false);
    clock.advance(999);
    expect(limiter.take("k", rule, clock.now()).admitted).toBe(false);
    clock.advance(1); // the slot has left the window
    expect(limiter.take("k", rule, clock.now()).admitted).toBe(true);
  });

  it("capacity returns as old slots leave the window", () => {
    const { clock, limiter } = setup();
    expect(burst(limiter, clock, 50)).toBe(50);
    clock.advance(30_000);
    expect(burst(limiter, clock, 100)).toBe(50);
    clock.advance(31_000); // the first 50 have left, the next 50 have not
    expect(burst(limiter, clock, 100)).toBe(50);
  });

  it("reports remaining, reset (all capacity back) and retry (next admission)", () => {
    const { clock, limiter } = setup();
    const start = clock.now();
    expect(limiter.peek("k", MINUTE, start)).toEqual({ limit: 100, remaining: 100, resetAtMs: start, retryAtMs: start });
    burst(limiter, clock, 40);
    clock.advance(10_000);
    burst(limiter, clock, 60);
    const state = limiter.peek("k", MINUTE, clock.now());
    expect(state.remaining).toBe(0);
    expect(state.retryAtMs).toBe(start + 61_000); // the first 40 leave
    expect(state.resetAtMs).toBe(start + 10_000 + 61_000); // the last 60 leave
  });

  it("peek never counts and never creates a bucket", () => {
    const { clock, limiter } = setup();
    for (let i = 0; i < 1_000; i++) limiter.peek(`k${i}`, MINUTE, clock.now());
    expect(limiter.size).toBe(0);
    burst(limiter, clock, 3);
    expect(limiter.peek("k", MINUTE, clock.now()).remaining).toBe(97);
    expect(limiter.peek("k", MINUTE, clock.now()).remaining).toBe(97);
  });

  it.each(Object.keys(PERIOD_MS) as RateLimitPeriod[])("period %s: the limit holds for a period and frees up shortly after", (period) => {
    const { clock, limiter } = setup();
    const rule = { limit: 10, period };
    expect(burst(limiter, clock, 20, rule)).toBe(10);
    clock.advance(PERIOD_MS[period] - 1);
    expect(burst(limiter, clock, 1, rule)).toBe(0);
    clock.advance(Math.ceil(PERIOD_MS[period] / 50) + 1);
    expect(burst(limiter, clock, 20, rule)).toBe(10);
  });

  it("a changed period starts a fresh window", () => {
    const { clock, limiter } = setup();
    expect(burst(limiter, clock, 5, { limit: 5, period: "hour" })).toBe(5);
    expect(burst(limiter, clock, 5, { limit: 5, period: "minute" })).toBe(5);
  });

  it("a raised limit keeps the requests already counted", () => {
    const { clock, limiter } = setup();
    expect(burst(limiter, clock, 5, { limit: 5, period: "minute" })).toBe(5);
    expect(burst(limiter, clock, 10, { limit: 8, period: "minute" })).toBe(3);
  });

  it("time going backwards counts in the newest slot, never underflows", () => {
    const { clock, limiter } = setup();
    burst(limiter, clock, 5);
    clock.advance(-30_000);
    expect(limiter.take("k", MINUTE, clock.now()).state.remaining).toBe(94);
  });

  it("memory is bounded: idle buckets expire and the bucket count is capped", () => {
    const clock = new ManualClock();
    const limiter = new SlidingWindowLimiter({ clock, maxBuckets: 1_000 });
    for (let i = 0; i < 5_000; i++) limiter.hit(`k${i}`, { limit: 1, period: "second" }, clock.now());
    expect(limiter.size).toBeLessThanOrEqual(1_000);
    clock.advance(2_000);
    limiter.hit("fresh", { limit: 1, period: "second" }, clock.now());
    // Expired windows are gone once touched; none of them can count anything any more.
    expect(limiter.peek("k4999", { limit: 1, period: "second" }, clock.now()).remaining).toBe(1);
  });

  it("property: in ANY interval of one period at most `limit` requests are admitted", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom<RateLimitPeriod>("second", "minute"),
        // Gaps mostly within a slot or two, sometimes most of a period, in 1/1000 of a period.
        fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 900, max: 1_000 })), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 999 }),
        (limit, period, gaps, offset) => {
          const { clock, limiter } = setup(Date.UTC(2026, 0, 1) + offset);
          const rule = { limit, period };
          const scale = PERIOD_MS[period] / 1_000;
          const admitted: number[] = [];
          for (const gap of gaps) {
            clock.advance(gap * scale);
            if (limiter.take("k", rule, clock.now()).admitted) admitted.push(clock.now());
          }
          const periodMs = PERIOD_MS[period];
          for (let i = 0; i < admitted.length; i++) {
            let j = i;
            while (j < admitted.length && admitted[j]! < admitted[i]! + periodMs) j++;
            if (j - i > limit) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});
