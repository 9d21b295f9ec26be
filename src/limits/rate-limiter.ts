import { LRUCache } from "lru-cache";
import type { RateLimitPeriod } from "../model/records.js";
import type { Clock } from "../time/clock.js";

/**
 * Rate limiting for Check. The algorithm is a sliding window over sub-window slots (a sliding
 * window log bucketed by time): a window of one period is cut into 50-60 slots, each slot counts
 * the requests admitted in it, and a request is admitted only if the slots overlapping the last
 * period hold fewer than `limit`. The slot the window's start falls into counts in full, so the
 * limiter errs on the strict side: in ANY interval of one period, at most `limit` requests are
 * admitted (a fixed window admits 2x at its edge; a token bucket nearly 2x over one period). The
 * price is that capacity returns up to one slot late (20 ms for a second, 1 s for a minute, 1 min
 * for an hour, 24 min for a day). Memory is one small counter array per active bucket.
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

interface Geometry {
  periodMs: number;
  slotMs: number;
  /** Slots per period; the window spans slots + 1 ring positions (the partial oldest slot). */
  slots: number;
  /** How long an idle bucket is kept (see SlidingWindowLimiter.hit), as lru-cache's set option. */
  keep: { ttl: number };
}

export const PERIOD_MS: Readonly<Record<RateLimitPeriod, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

const geometry = (periodMs: number, slots: number): Geometry => {
  const slotMs = periodMs / slots;
  return { periodMs, slotMs, slots, keep: { ttl: periodMs + 2 * slotMs } };
};

const GEOMETRY: Readonly<Record<RateLimitPeriod, Geometry>> = {
  second: geometry(1_000, 50),
  minute: geometry(60_000, 60),
  hour: geometry(3_600_000, 60),
  day: geometry(86_400_000, 60),
};

class Window {
  readonly geometry: Geometry;
  /** Admitted requests per slot. */
  readonly counts: Uint32Array;
  /** Absolute index (time / slotMs) of the newest slot the ring holds. */
  newest: number;
  /** Requests in the window. */
  total = 0;
  /** When the bucket's time to live was last renewed (NaN: never). */
  keptAtMs = NaN;

  constructor(geometry: Geometry, slot: number) {
    this.geometry = geometry;
    this.counts = new Uint32Array(geometry.slots + 1);
    this.newest = slot;
  }

  /** Moves the ring forward to `slot`, dropping the slots that left the window. */
  advance(slot: number): void {
    if (slot <= this.newest) return;
    const size = this.counts.length;
    if (slot - this.newest >= size) {
      this.counts.fill(0);
      this.total = 0;
    } else {
      for (let s = this.newest + 1; s <= slot; s++) {
        const i = this.index(s);
        this.total -= this.counts[i]!;
        this.counts[i] = 0;
      }
    }
    this.newest = slot;
  }

  index(slot: number): number {
    const size = this.counts.length;
    return ((slot % size) + size) % size;
  }

  /** Requests in one slot. */
  #at(slot: number): number {
    return this.counts[this.index(slot)]!;
  }

  count(): void {
    const i = this.index(this.newest);
    this.counts[i]!++;
    this.total++;
  }

  state(limit: number, nowMs: number): RateLimitState {
    const { slotMs, slots } = this.geometry;
    const remaining = Math.max(0, limit - this.total);
    let resetAtMs = nowMs;
    for (let s = this.newest; s >= this.newest - slots; s--) {
      if (this.#at(s) > 0) {
        resetAtMs = Math.max(nowMs, (s + slots + 1) * slotMs);
        break;
      }
    }
    let retryAtMs = nowMs;
    if (remaining === 0) {
      // The first slot boundary at which enough old slots have left for one more request.
      let left = this.total;
      for (let s = this.newest - slots; s <= this.newest; s++) {
        left -= this.#at(s);
        if (left < limit) {
          retryAtMs = Math.max(nowMs, (s + slots + 1) * slotMs);
          break;
        }
      }
    }
    return { limit, remaining, resetAtMs, retryAtMs };
  }
}

export interface SlidingWindowLimiterOptions {
  clock: Clock;
  /**
   * Most buckets held (default 100,000, about 45 MB when full); beyond it the least recently used
   * is dropped, and its key starts afresh. Size it to the keys active within their period.
   */
  maxBuckets?: number;
}

function freshState(rule: RateLimitRule, nowMs: number): RateLimitState {
  return { limit: rule.limit, remaining: rule.limit, resetAtMs: nowMs, retryAtMs: nowMs };
}

export class SlidingWindowLimiter {
  // A bucket idle for a whole window holds nothing but zeros, so expiring it after one window
  // (plus the partial slot) loses nothing; the entry bound caps memory under any key churn.
  readonly #windows: LRUCache<string, Window>;

  constructor(options: SlidingWindowLimiterOptions) {
    this.#windows = new LRUCache<string, Window>({
      max: options.maxBuckets ?? 100_000,
      ttlResolution: 0,
      perf: options.clock,
      updateAgeOnGet: false,
    });
  }

  get size(): number {
    return this.#windows.size;
  }

  #window(bucket: string, rule: RateLimitRule, nowMs: number, create: boolean): Window | undefined {
    const geometry = GEOMETRY[rule.period];
    const slot = Math.floor(nowMs / geometry.slotMs);
    let window = this.#windows.get(bucket);
    if (window !== undefined && window.geometry !== geometry) {
      // The key's period changed: its old counts mean nothing for the new window.
      this.#windows.delete(bucket);
      window = undefined;
    }
    if (window === undefined) {
      if (!create) return undefined;
      window = new Window(geometry, slot);
    }
    window.advance(slot);
    return window;
  }

  /** The state for one more request, without counting it. Never creates a bucket. */
  peek(bucket: string, rule: RateLimitRule, nowMs: number): RateLimitState {
    const window = this.#window(bucket, rule, nowMs, false);
    return window === undefined ? freshState(rule, nowMs) : window.state(rule.limit, nowMs);
  }

  /** Counts one request unconditionally and returns the state after it. */
  hit(bucket: string, rule: RateLimitRule, nowMs: number): RateLimitState {
    const window = this.#window(bucket, rule, nowMs, true)!;
    window.count();
    // Renewing the time to live is an lru-cache set; once per slot is enough, since the bucket
    // is then kept for a period and two slots from the renewal, which covers the period and the
    // partial slot after the last hit. (Recency, for the entry bound, is renewed by every get.)
    if (!(nowMs - window.keptAtMs < window.geometry.slotMs && nowMs >= window.keptAtMs)) {
      window.keptAtMs = nowMs;
      this.#windows.set(bucket, window, window.geometry.keep);
    }
    return window.state(rule.limit, nowMs);
  }

  /** Counts one request if it fits: `peek`, then `hit` when remaining > 0. */
  take(bucket: string, rule: RateLimitRule, nowMs: number): { admitted: boolean; state: RateLimitState } {
    const before = this.peek(bucket, rule, nowMs);
    if (before.remaining === 0) return { admitted: false, state: before };
    return { admitted: true, state: this.hit(bucket, rule, nowMs) };
  }
}
