import { LRUCache } from "lru-cache";
import { growingEntryBound } from "../model/entry-bound.js";
import { monthStartUtc, nextMonthStartUtc } from "../time/utc-days.js";
import type { RateLimitState } from "./rate-limiter.js";

/**
 * The organization's monthly quota (UTC calendar month). The month's count lives in memory. It is
 * seeded once per organization and month from `loadMonthlyRequests` (stored usage), then every
 * admitted Check adds one. Seeding is asynchronous and single-flight per organization; everything
 * else is synchronous, so counting is exact under concurrency.
 */

/** Admitted requests of the organization since monthStartMs, as stored so far. */
export type LoadMonthlyRequests = (organizationId: string, monthStartMs: number) => Promise<number>;

interface MonthCount {
  monthStartMs: number;
  used: number;
}

export interface MonthlyQuotaOptions {
  loadMonthlyRequests: LoadMonthlyRequests;
  /** Organizations whose count is held; the least recently used is re-seeded when it returns. */
  maxOrganizations?: number;
}

export class MonthlyQuota {
  readonly #load: LoadMonthlyRequests;
  readonly #counts: LRUCache<string, MonthCount>;
  readonly #seeding = new Map<string, Promise<void>>();

  constructor(options: MonthlyQuotaOptions) {
    this.#load = options.loadMonthlyRequests;
    this.#counts = new LRUCache<string, MonthCount>(growingEntryBound(options.maxOrganizations ?? 100_000));
  }

  /**
   * Undefined when the organization's count for this month is in memory; otherwise a promise that
   * settles once it is (it rejects when the load fails, and the next call tries again).
   */
  ready(organizationId: string, nowMs: number): Promise<void> | undefined {
    const monthStartMs = monthStartUtc(nowMs);
    const count = this.#counts.get(organizationId);
    if (count !== undefined && count.monthStartMs >= monthStartMs) return undefined;
    const flightKey = `${organizationId}/${monthStartMs}`;
    let seeding = this.#seeding.get(flightKey);
    if (seeding === undefined) {
      seeding = this.#load(organizationId, monthStartMs)
        .then((stored) => {
          const current = this.#counts.get(organizationId);
          // Requests counted for this month while the load ran (a month roll-over) add to it.
          const extra = current !== undefined && current.monthStartMs === monthStartMs ? current.used : 0;
          const seeded = Number.isSafeInteger(stored) && stored > 0 ? stored : 0;
          this.#counts.set(organizationId, { monthStartMs, used: seeded + extra });
        })
        .finally(() => this.#seeding.delete(flightKey));
      this.#seeding.set(flightKey, seeding);
    }
    return seeding;
  }

  /** The count a request at nowMs is measured against; a month with no count starts at 0. */
  #current(organizationId: string, nowMs: number): MonthCount {
    const monthStartMs = monthStartUtc(nowMs);
    let count = this.#counts.get(organizationId);
    if (count === undefined || count.monthStartMs < monthStartMs) {
      // Only reached when the month rolled over between ready() and now: the new month's stored
      // usage is at most a few requests old, so it starts from zero rather than waiting.
      count = { monthStartMs, used: 0 };
      this.#counts.set(organizationId, count);
    }
    return count;
  }

  #state(count: MonthCount, quota: number, nowMs: number, cost = 1): RateLimitState {
    const remaining = Math.max(0, quota - count.used);
    const resetAtMs = nextMonthStartUtc(Math.max(nowMs, count.monthStartMs));
    return { limit: quota, remaining, resetAtMs, retryAtMs: remaining >= cost ? nowMs : resetAtMs };
  }

  /** Null when the organization's count for this month is not in memory (not yet seeded). */
  peek(organizationId: string, quota: number, nowMs: number): RateLimitState | null {
    const count = this.#counts.peek(organizationId);
    if (count === undefined || count.monthStartMs < monthStartUtc(nowMs)) return null;
    return this.#state(count, quota, nowMs);
  }

  /** The state for one more request of `cost` units (default 1), without counting it. */
  check(organizationId: string, quota: number, nowMs: number, cost = 1): RateLimitState {
    return this.#state(this.#current(organizationId, nowMs), quota, nowMs, cost);
  }

  /** `check(...).remaining`, without making the state. */
  remaining(organizationId: string, quota: number, nowMs: number): number {
    return Math.max(0, quota - this.#current(organizationId, nowMs).used);
  }

  /** `hit(...).remaining` for `units` (default 1) counted at once, without making the state. */
  count(organizationId: string, quota: number, nowMs: number, units = 1): number {
    return Math.max(0, quota - (this.#current(organizationId, nowMs).used += units));
  }

  hit(organizationId: string, quota: number, nowMs: number): RateLimitState {
    const count = this.#current(organizationId, nowMs);
    count.used++;
    return this.#state(count, quota, nowMs);
  }
}
