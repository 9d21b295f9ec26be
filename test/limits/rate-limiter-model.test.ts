import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SlidingWindowLimiter, type RateLimitRule, type RateLimitState } from "../../src/limits/rate-limiter.js";
import type { RateLimitPeriod } from "../../src/model/records.js";
import { ManualClock } from "../../src/time/clock.js";

/**
 * The compact limiter (typed arrays, 16-bit rings, reused slots) against a straightforward model
 * of the same algorithm: each bucket keeps the list of slots its requests were counted in, and
 * every answer is computed from that list. Time never goes backwards here (the limiter's own
 * test covers that); buckets are named by key and period as LocalLimits names them.
 */

const SLOTS: Record<RateLimitPeriod, number> = { second: 50, minute: 60, hour: 60, day: 60 };
const PERIOD: Record<RateLimitPeriod, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

class ReferenceLimiter {
  readonly #buckets = new Map<string, { newest: number; counted: number[] }>();

  #bucket(name: string, rule: RateLimitRule, nowMs: number, create: boolean) {
    const slotMs = PERIOD[rule.period] / SLOTS[rule.period];
    const id = `${rule.period}/${name}`;
    let bucket = this.#buckets.get(id);
    if (bucket === undefined) {
      if (!create) return undefined;
      this.#buckets.set(id, (bucket = { newest: Math.floor(nowMs / slotMs), counted: [] }));
    }
    bucket.newest = Math.max(bucket.newest, Math.floor(nowMs / slotMs));
    // Counted in time order, so the slots that left the window are at the front.
    const oldest = bucket.newest - SLOTS[rule.period];
    const left = bucket.counted.findIndex((slot) => slot >= oldest);
    bucket.counted.splice(0, left === -1 ? bucket.counted.length : left);
    return bucket;
  }

  peek(name: string, rule: RateLimitRule, nowMs: number): RateLimitState {
    const bucket = this.#bucket(name, rule, nowMs, false);
    const state = { limit: rule.limit, remaining: rule.limit, resetAtMs: nowMs, retryAtMs: nowMs };
    if (bucket === undefined) return state;
    const slots = SLOTS[rule.period];
    const slotMs = PERIOD[rule.period] / slots;
    const counted = bucket.counted;
    state.remaining = Math.max(0, rule.limit - counted.length);
    // Every request has left once its slot has (the newest counted leaves last).
    if (counted.length > 0) state.resetAtMs = Math.max(nowMs, (counted.at(-1)! + slots + 1) * slotMs);
    // The next request fits once all but limit - 1 of the counted ones have left.
    if (state.remaining === 0) state.retryAtMs = Math.max(nowMs, (counted[counted.length - rule.limit]! + slots + 1) * slotMs);
    return state;
  }

  hit(name: string, rule: RateLimitRule, nowMs: number): RateLimitState {
    const bucket = this.#bucket(name, rule, nowMs, true)!;
    bucket.counted.push(bucket.newest);
    return this.peek(name, rule, nowMs);
  }

  take(name: string, rule: RateLimitRule, nowMs: number): { admitted: boolean; state: RateLimitState } {
    const before = this.peek(name, rule, nowMs);
    if (before.remaining === 0) return { admitted: false, state: before };
    return { admitted: true, state: this.hit(name, rule, nowMs) };
  }
}

type Op = { kind: "take" | "hit" | "peek" | "remaining" | "count"; bucket: number; period: RateLimitPeriod; gap: number };

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom("take", "take", "take", "hit", "peek", "remaining", "count"),
  bucket: fc.integer({ min: 0, max: 7 }),
  period: fc.constantFrom<RateLimitPeriod>("second", "second", "minute", "hour", "day"),
  // Gaps in 1/1000 of a second: mostly within a slot, sometimes seconds, minutes or an hour.
  gap: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 200_000 }), fc.constant(3_700_000)),
});

function replay(ops: Op[], limits: number[], start: number, maxBuckets: number): void {
  const clock = new ManualClock(start);
  const limiter = new SlidingWindowLimiter({ clock, maxBuckets });
  const reference = new ReferenceLimiter();
  for (const [i, { kind, bucket, period, gap }] of ops.entries()) {
    clock.advance(gap);
    const name = `key_${bucket}`;
    const rule = { limit: limits[bucket % limits.length]!, period };
    const now = clock.now();
    const where = `op ${i} ${kind} ${name} ${period} at +${now - start} ms`;
    if (kind === "remaining") expect(limiter.remaining(name, rule, now), where).toBe(reference.peek(name, rule, now).remaining);
    else if (kind === "count") expect(limiter.count(name, rule, now), where).toBe(reference.hit(name, rule, now).remaining);
    else expect(limiter[kind](name, rule, now), where).toStrictEqual(reference[kind](name, rule, now));
  }
}

describe("SlidingWindowLimiter against a reference model", () => {
  it("property: every answer (admitted, remaining, reset and retry times) is the model's, over many buckets", () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 400 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 86_400_000 }),
        (ops, limits, offset) => replay(ops, limits, Date.UTC(2026, 0, 1) + offset, 64),
      ),
      { numRuns: 300 },
    );
  });

  it("property: the same when buckets fall idle and their slots are reused for others", () => {
    // Forty-eight keys with per-second limits, times that land on and beside slot edges (20 ms) and
    // window edges (1 s and its partial slot): slots of windows that hold nothing go to the next
    // new bucket, and a window that still holds a request in its oldest slot must keep it.
    const idleOps = fc.array(
      fc.record({
        kind: fc.constantFrom<Op["kind"]>("take", "count", "peek"),
        bucket: fc.integer({ min: 0, max: 47 }),
        period: fc.constant<RateLimitPeriod>("second"),
        gap: fc.constantFrom(0, 1, 19, 20, 21, 500, 980, 999, 1_000, 1_001, 1_019, 1_020, 1_021, 1_040),
      }),
      { minLength: 1, maxLength: 400 },
    );
    fc.assert(
      fc.property(idleOps, fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), (ops, limits) => replay(ops, limits, Date.UTC(2026, 0, 1), 48)),
      { numRuns: 500 },
    );
  });

  it("a slot past 65,535 requests widens its counts: the model's answers, and the limit, still hold", () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const limiter = new SlidingWindowLimiter({ clock, maxBuckets: 4 });
    const reference = new ReferenceLimiter();
    const rule = { limit: 100_000, period: "minute" } as const;
    for (let i = 0; i < 70_000; i++) limiter.count("org", rule, clock.now());
    for (let i = 0; i < 70_000; i++) reference.hit("org", rule, clock.now());
    expect(limiter.peek("org", rule, clock.now())).toStrictEqual(reference.peek("org", rule, clock.now()));
    clock.advance(30_000);
    let admitted = 0;
    for (let i = 0; i < 40_000; i++) if (limiter.take("org", rule, clock.now()).admitted) admitted++;
    expect(admitted).toBe(30_000);
    for (let i = 0; i < 30_000; i++) reference.hit("org", rule, clock.now());
    expect(limiter.peek("org", rule, clock.now())).toStrictEqual(reference.peek("org", rule, clock.now()));
    clock.advance(31_000);
    expect(limiter.peek("org", rule, clock.now())).toStrictEqual(reference.peek("org", rule, clock.now()));
    expect(limiter.peek("org", rule, clock.now()).remaining).toBe(70_000);
  });

  it("at its bound the least recently used bucket is dropped, and only it", () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const limiter = new SlidingWindowLimiter({ clock, maxBuckets: 3 });
    const rule = { limit: 5, period: "hour" } as const;
    for (const name of ["a", "b", "c"]) limiter.count(name, rule, clock.now());
    limiter.peek("a", rule, clock.now());
    limiter.count("d", rule, clock.now());
    expect(limiter.size).toBe(3);
    expect(["a", "b", "c", "d"].map((name) => limiter.remaining(name, rule, clock.now()))).toEqual([4, 5, 4, 4]);
  });
});
