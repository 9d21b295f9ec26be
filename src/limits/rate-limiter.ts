import { LRUCache } from "lru-cache";
import type { RateLimitSlotCount, RateLimitSlotIncrement } from "../store/store.js";
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
 * Shared (several replicas): slots start at the same instants on every replica (epoch-aligned),
 * so each replica's per-slot counts can be summed in the store. A shared window also holds the
 * other replicas' counts per slot as last read and the own counts not yet pushed; decisions stay
 * local and synchronous, and fleet-rate-limits.ts exchanges the counts in the background.
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
  /** This replica's admitted requests per slot. */
  readonly counts: Uint32Array;
  /** Of `counts`, those not yet added to the fleet's counts in the store (null: not shared). */
  readonly unpushed: Uint32Array | null;
  /**
   * The other replicas' requests per slot, as last read from the store; null until they have
   * some (most keys are served by one replica at a time, so most windows never need it).
   */
  others: Uint32Array | null = null;
  /** Absolute index (time / slotMs) of the newest slot the ring holds. */
  newest: number;
  /** Requests in the window: this replica's and, when shared, the others' as last read. */
  total = 0;
  /** When the bucket's time to live was last renewed (NaN: never). */
  keptAtMs = NaN;

  constructor(geometry: Geometry, slot: number, shared: boolean) {
    this.geometry = geometry;
    this.counts = new Uint32Array(geometry.slots + 1);
    this.unpushed = shared ? new Uint32Array(geometry.slots + 1) : null;
    this.newest = slot;
  }

  /** Moves the ring forward to `slot`, dropping the slots that left the window. */
  advance(slot: number): void {
    if (slot <= this.newest) return;
    const size = this.counts.length;
    if (slot - this.newest >= size) {
      this.counts.fill(0);
      this.unpushed?.fill(0);
      this.others?.fill(0);
      this.total = 0;
    } else {
      for (let s = this.newest + 1; s <= slot; s++) {
        const i = this.index(s);
        this.total -= this.counts[i]!;
        this.counts[i] = 0;
        if (this.unpushed !== null) this.unpushed[i] = 0;
        if (this.others !== null) {
          this.total -= this.others[i]!;
          this.others[i] = 0;
        }
      }
    }
    this.newest = slot;
  }

  index(slot: number): number {
    const size = this.counts.length;
    return ((slot % size) + size) % size;
  }

  /** Requests in one slot, everyone's. */
  #at(slot: number): number {
    const i = this.index(slot);
    return this.others === null ? this.counts[i]! : this.counts[i]! + this.others[i]!;
  }

  count(): void {
    const i = this.index(this.newest);
    this.counts[i]!++;
    if (this.unpushed !== null) this.unpushed[i]!++;
    this.total++;
  }

  /**
   * Takes in the fleet's count of a slot still in the window: the others' share is what the
   * store holds beyond this replica's own pushed requests.
   */
  setFleetCount(slot: number, fleetCount: number): void {
    if (this.unpushed === null || !(slot <= this.newest && slot >= this.newest - this.geometry.slots)) return;
    const i = this.index(slot);
    const others = Math.max(0, fleetCount - (this.counts[i]! - this.unpushed[i]!));
    if (this.others === null) {
      if (others === 0) return;
      this.others = new Uint32Array(this.counts.length);
    }
    this.total += others - this.others[i]!;
    this.others[i] = others;
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
  /**
   * Counts are shared with other replicas through the store (fleet-rate-limits.ts): each window
   * also holds the others' counts, and the requests this replica has not yet pushed.
   */
  shared?: boolean;
}

function freshState(rule: RateLimitRule, nowMs: number): RateLimitState {
  return { limit: rule.limit, remaining: rule.limit, resetAtMs: nowMs, retryAtMs: nowMs };
}

/** The slot of `window` that starts at slotStartMs, or NaN when it is not one of its slots. */
function slotOf(window: Window, slotStartMs: number): number {
  const slot = slotStartMs / window.geometry.slotMs;
  return Number.isInteger(slot) ? slot : NaN;
}

export class SlidingWindowLimiter {
  // A bucket idle for a whole window holds nothing but zeros, so expiring it after one window
  // (plus the partial slot) loses nothing; the entry bound caps memory under any key churn.
  readonly #windows: LRUCache<string, Window>;
  readonly #shared: boolean;
  /** Shared buckets counted since the last takeIncrements. */
  readonly #dirty = new Set<string>();

  constructor(options: SlidingWindowLimiterOptions) {
    this.#windows = new LRUCache<string, Window>({
      max: options.maxBuckets ?? 100_000,
      ttlResolution: 0,
      perf: options.clock,
      updateAgeOnGet: false,
    });
    this.#shared = options.shared ?? false;
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
      window = new Window(geometry, slot, this.#shared);
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
    if (this.#shared) this.#dirty.add(bucket);
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

  /**
   * The requests counted since the last call, per bucket and slot, now taken as pushed (give
   * them back with returnIncrements if the push fails), and the buckets they were counted in with
   * the oldest slot their windows hold, whose fleet counts to read back.
   */
  takeIncrements(): { increments: RateLimitSlotIncrement[]; buckets: { bucket: string; sinceMs: number }[] } {
    const increments: RateLimitSlotIncrement[] = [];
    const buckets: { bucket: string; sinceMs: number }[] = [];
    for (const bucket of this.#dirty) {
      const window = this.#windows.peek(bucket);
      if (window === undefined) continue;
      const { slotMs, slots } = window.geometry;
      for (let slot = window.newest - slots; slot <= window.newest; slot++) {
        const i = window.index(slot);
        const count = window.unpushed![i]!;
        if (count === 0) continue;
        window.unpushed![i] = 0;
        increments.push({ bucket, slotStartMs: slot * slotMs, count, expiresAtMs: (slot + slots + 2) * slotMs });
      }
      buckets.push({ bucket, sinceMs: (window.newest - slots) * slotMs });
    }
    this.#dirty.clear();
    return { increments, buckets };
  }

  /** Increments from takeIncrements that did not reach the store: pushed with the next ones. */
  returnIncrements(increments: RateLimitSlotIncrement[]): void {
    for (const { bucket, slotStartMs, count } of increments) {
      const window = this.#windows.peek(bucket);
      if (window === undefined) continue;
      const slot = slotOf(window, slotStartMs);
      // A slot that has left the window no longer limits anyone: nothing to push.
      if (!(slot <= window.newest && slot >= window.newest - window.geometry.slots)) continue;
      // Never more than the window counts: it may be a new window of the bucket, made after the
      // old one was evicted while the push ran.
      const i = window.index(slot);
      window.unpushed![i] = Math.min(window.counts[i]!, window.unpushed![i]! + count);
      this.#dirty.add(bucket);
    }
  }

  /** Takes in the fleet's counts read from the store, after this replica's increments were added. */
  applyFleetCounts(counts: RateLimitSlotCount[]): void {
    for (const { bucket, slotStartMs, count } of counts) {
      const window = this.#windows.peek(bucket);
      if (window !== undefined) window.setFleetCount(slotOf(window, slotStartMs), count);
    }
  }
}
