import type { RateLimitPeriod } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import { grown } from "../model/typed-array.js";
import { BucketSlots } from "./bucket-slots.js";

/**
 * Rate limiting for Check. The algorithm is a sliding window over sub-window slots (a sliding
 * window log bucketed by time): a window of one period is cut into 50-60 slots, each slot counts
 * the requests admitted in it, and a request is admitted only if the slots overlapping the last
 * period hold fewer than `limit`. The slot the window's start falls into counts in full, so the
 * limiter errs on the strict side: in ANY interval of one period, at most `limit` requests are
 * admitted (a fixed window admits 2x at its edge; a token bucket nearly 2x over one period). The
 * price is that capacity returns up to one slot late (20 ms for a second, 1 s for a minute, 1 min
 * for an hour, 24 min for a day).
 *
 * Memory is what a million keys in use can afford (issue 16): a bucket is a small integer slot
 * (bucket-slots.ts) into typed arrays, its window a ring of 16-bit counts (122 bytes), widened to
 * 32 bits only for a bucket whose slot passes 65,535 requests. A bucket is found by its name and
 * period, a string the caller already holds: nothing is allocated to count a request (`remaining`
 * and `count`; `peek` and `hit` make the state object the caller asked for).
 *
 * Every method is synchronous, so on Node's single thread each call is atomic: 200 concurrent
 * Checks against a limit of 100 admit exactly 100.
 *
 * This limiter counts for one process; replicas sharing a store lease their limits instead
 * (leased-budgets.ts).
 */

export interface RateLimitRule {
  limit: number;
  period: RateLimitPeriod;
}

/** What a request at `nowMs` sees. */
export interface RateLimitState {
  limit: number;
  /** Requests still admitted now (0 when exhausted). */
  remaining: number;
  /** When every request counted so far has left the window: the full limit is back. */
  resetAtMs: number;
  /** When the next request will be admitted; equals now unless remaining is 0. */
  retryAtMs: number;
}

export const PERIOD_MS: Readonly<Record<RateLimitPeriod, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

interface Geometry {
  slotMs: number;
  /** Slots per period; the window spans slots + 1 ring positions (the partial oldest slot). */
  slots: number;
}

/** The periods as the small numbers BucketSlots knows them by. */
const PERIOD_KIND: Readonly<Record<RateLimitPeriod, number>> = { second: 0, minute: 1, hour: 2, day: 3 };
const GEOMETRY: readonly Geometry[] = [
  { slotMs: 1_000 / 50, slots: 50 },
  { slotMs: 60_000 / 60, slots: 60 },
  { slotMs: 3_600_000 / 60, slots: 60 },
  { slotMs: 86_400_000 / 60, slots: 60 },
];
/** Ring positions per bucket in the shared count array: the largest window's. */
const STRIDE = 61;
const NARROW_MAX = 0xffff;
const NONE = -1;

export interface SlidingWindowLimiterOptions {
  clock: Clock;
  /**
   * Most buckets held (default 1,000,000, about 180 MB when full; the arrays grow with the
   * buckets that count something); beyond it the least recently used is dropped, and its key
   * starts afresh. Size it to the keys active within their period.
   */
  maxBuckets?: number;
}

/** A bucket's counts: the shared 16-bit array at the bucket's base, or a widened array of its own. */
interface Ring {
  counts: Uint16Array | Uint32Array;
  base: number;
}

export class SlidingWindowLimiter {
  readonly #slots: BucketSlots;
  /** Absolute index (time / slotMs) of the newest slot each ring holds. */
  #newest = new Float64Array(0);
  /** Requests in each window. */
  #total = new Float64Array(0);
  /** Admitted requests per slot: STRIDE ring positions per bucket. */
  #counts = new Uint16Array(0);
  /** Buckets whose counts outgrew 16 bits, by slot. */
  readonly #wide = new Map<number, Uint32Array>();
  /** A reusable view of one bucket's ring, so reading it allocates nothing. */
  readonly #ring: Ring = { counts: this.#counts, base: 0 };
  readonly #holdsNothing: (bucket: number) => boolean;
  #nowMs = 0;

  constructor(options: SlidingWindowLimiterOptions) {
    this.#slots = new BucketSlots(GEOMETRY.length, options.maxBuckets ?? 1_000_000, (capacity) => {
      this.#newest = grown(this.#newest, new Float64Array(capacity));
      this.#total = grown(this.#total, new Float64Array(capacity));
      this.#counts = grown(this.#counts, new Uint16Array(capacity * STRIDE));
    });
    // A bucket whose window holds nothing is as good as none: its slot may go to another.
    this.#holdsNothing = (bucket) => this.#heldAfter(bucket, GEOMETRY[this.#slots.kindOf(bucket)]!, this.#nowMs) === 0;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** The state for one more request of `cost` units (default 1), without counting it. Never creates a bucket. */
  peek(bucket: string, rule: RateLimitRule, nowMs: number, cost = 1): RateLimitState {
    const slot = this.#find(bucket, rule, nowMs);
    return slot === NONE ? freshState(rule, nowMs, cost) : this.#state(slot, rule, nowMs, cost);
  }

  /** Counts one request unconditionally and returns the state after it. */
  hit(bucket: string, rule: RateLimitRule, nowMs: number): RateLimitState {
    return this.#state(this.#count(bucket, rule, nowMs), rule, nowMs);
  }

  /** Counts one request if it fits: `peek`, then `hit` when remaining > 0. */
  take(bucket: string, rule: RateLimitRule, nowMs: number): { admitted: boolean; state: RateLimitState } {
    const before = this.peek(bucket, rule, nowMs);
    if (before.remaining === 0) return { admitted: false, state: before };
    return { admitted: true, state: this.hit(bucket, rule, nowMs) };
  }

  /** `peek(...).remaining`, without making the state. */
  remaining(bucket: string, rule: RateLimitRule, nowMs: number): number {
    const slot = this.#find(bucket, rule, nowMs);
    return slot === NONE ? rule.limit : Math.max(0, rule.limit - this.#total[slot]!);
  }

  /** `hit(...).remaining` for `units` (default 1) counted at once, without making the state. */
  count(bucket: string, rule: RateLimitRule, nowMs: number, units = 1): number {
    // The slot first: claiming one may replace the arrays.
    const slot = this.#count(bucket, rule, nowMs, units);
    return Math.max(0, rule.limit - this.#total[slot]!);
  }

  /** Counts `units` (a request's cost); returns the bucket's slot. */
  #count(bucket: string, rule: RateLimitRule, nowMs: number, units = 1): number {
    let slot = this.#find(bucket, rule, nowMs);
    const geometry = GEOMETRY[PERIOD_KIND[rule.period]]!;
    if (slot === NONE) slot = this.#claim(bucket, rule, geometry, nowMs);
    const ring = this.#ringOf(slot);
    const at = ring.base + position(this.#newest[slot]!, geometry);
    if (ring.counts[at]! + units > NARROW_MAX && ring.counts === this.#counts) {
      this.#widen(slot);
      return this.#count(bucket, rule, nowMs, units);
    }
    ring.counts[at]! += units;
    this.#total[slot]! += units;
    return slot;
  }

  /** The bucket's slot, its ring moved forward to nowMs; NONE when it has none. */
  #find(bucket: string, rule: RateLimitRule, nowMs: number): number {
    const kind = PERIOD_KIND[rule.period];
    const slot = this.#slots.find(kind, bucket);
    if (slot !== NONE) this.#advance(slot, GEOMETRY[kind]!, Math.floor(nowMs / GEOMETRY[kind]!.slotMs));
    return slot;
  }

  #claim(bucket: string, rule: RateLimitRule, geometry: Geometry, nowMs: number): number {
    this.#nowMs = nowMs;
    const slot = this.#slots.claim(PERIOD_KIND[rule.period], bucket, this.#holdsNothing);
    this.#wide.delete(slot);
    this.#counts.fill(0, slot * STRIDE, slot * STRIDE + STRIDE);
    this.#newest[slot] = Math.floor(nowMs / geometry.slotMs);
    this.#total[slot] = 0;
    return slot;
  }

  #ringOf(slot: number): Ring {
    const ring = this.#ring;
    const wide = this.#wide.size === 0 ? undefined : this.#wide.get(slot);
    ring.counts = wide ?? this.#counts;
    ring.base = wide === undefined ? slot * STRIDE : 0;
    return ring;
  }

  #widen(slot: number): void {
    this.#wide.set(slot, Uint32Array.from(this.#counts.subarray(slot * STRIDE, slot * STRIDE + STRIDE)));
  }

  /** Moves the ring forward to `now` (an absolute slot index), dropping the slots that left the window. */
  #advance(slot: number, geometry: Geometry, now: number): void {
    const newest = this.#newest[slot]!;
    if (now <= newest) return;
    const { counts, base } = this.#ringOf(slot);
    const size = geometry.slots + 1;
    if (now - newest >= size) {
      counts.fill(0, base, base + size);
      this.#total[slot] = 0;
    } else {
      let total = this.#total[slot]!;
      for (let s = newest + 1; s <= now; s++) {
        const at = base + position(s, geometry);
        total -= counts[at]!;
        counts[at] = 0;
      }
      this.#total[slot] = total;
    }
    this.#newest[slot] = now;
  }

  /** What the bucket's window would hold at nowMs, without moving it. */
  #heldAfter(slot: number, geometry: Geometry, nowMs: number): number {
    const now = Math.floor(nowMs / geometry.slotMs);
    const newest = this.#newest[slot]!;
    if (now <= newest) return this.#total[slot]!;
    const { counts, base } = this.#ringOf(slot);
    let held = 0;
    for (let s = Math.max(newest - geometry.slots, now - geometry.slots); s <= newest; s++) held += counts[base + position(s, geometry)]!;
    return held;
  }

  /** The state as a request of `cost` units sees it: it is retried once `cost` units are free again. */
  #state(slot: number, rule: RateLimitRule, nowMs: number, cost = 1): RateLimitState {
    const geometry = GEOMETRY[PERIOD_KIND[rule.period]]!;
    const { slotMs, slots } = geometry;
    const { counts, base } = this.#ringOf(slot);
    const newest = this.#newest[slot]!;
    const total = this.#total[slot]!;
    const limit = rule.limit;
    const remaining = Math.max(0, limit - total);
    let resetAtMs = nowMs;
    for (let s = newest; s >= newest - slots; s--) {
      if (counts[base + position(s, geometry)]! > 0) {
        resetAtMs = Math.max(nowMs, (s + slots + 1) * slotMs);
        break;
      }
    }
    let retryAtMs = nowMs;
    // A cost above the limit never fits: its retry is the reset (the most the client can wait for).
    if (cost > limit) retryAtMs = resetAtMs;
    else if (remaining < cost) {
      // The first slot boundary at which enough old slots have left for `cost` more units.
      let left = total;
      for (let s = newest - slots; s <= newest; s++) {
        left -= counts[base + position(s, geometry)]!;
        if (left <= limit - cost) {
          retryAtMs = Math.max(nowMs, (s + slots + 1) * slotMs);
          break;
        }
      }
    }
    return { limit, remaining, resetAtMs, retryAtMs };
  }
}

/** Where absolute slot `s` sits in a ring of the geometry's size. */
function position(s: number, geometry: Geometry): number {
  const size = geometry.slots + 1;
  return ((s % size) + size) % size;
}

function freshState(rule: RateLimitRule, nowMs: number, cost = 1): RateLimitState {
  return { limit: rule.limit, remaining: rule.limit, resetAtMs: nowMs, retryAtMs: cost > rule.limit ? nowMs + PERIOD_MS[rule.period] : nowMs };
}
