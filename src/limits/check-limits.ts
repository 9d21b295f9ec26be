import type { Plan } from "../config/plans.js";
import type { KeyRecord } from "../store/types.js";
import type { Clock } from "../time/clock.js";
import { MonthlyQuota, type LoadMonthlyRequests } from "./monthly-quota.js";
import { SlidingWindowLimiter, type RateLimiter, type RateLimitRule, type RateLimitState } from "./rate-limiter.js";

/**
 * The consuming checks of Check, in the contract's order: the key's own rate limit, then the
 * organization's per-minute rate and its monthly quota. `admit` looks at all three before it
 * counts anything, so a denied request spends no budget anywhere, and it runs synchronously, so
 * concurrent Checks are counted exactly. Only admitted requests count.
 *
 * Counters live in this process. With several replicas each enforces its own share; the quota is
 * re-seeded from stored usage once per organization and month.
 */

export type PlanLimits = Pick<Plan, "name" | "requestsPerMinute" | "monthlyQuota">;

export type Admission =
  | { admitted: true; /** The tightest of the limits that apply, after counting this request. */ state: RateLimitState }
  | { admitted: false; reason: "RATE_LIMITED" | "QUOTA_EXCEEDED"; state: RateLimitState };

export interface OrganizationLimits {
  perMinute: RateLimitState;
  /** Null until the organization's monthly count has been loaded in this process. */
  monthly: RateLimitState | null;
}

export interface CheckLimitsOptions {
  clock: Clock;
  loadMonthlyRequests: LoadMonthlyRequests;
  /** Rate-limit buckets held (keys and organizations); default 100,000. */
  maxBuckets?: number;
  /** Organizations whose monthly count is held; default 100,000. */
  maxOrganizations?: number;
  /** For tests: another RateLimiter implementation. */
  limiter?: RateLimiter;
}

type KeyLimitFields = Pick<KeyRecord, "id" | "rateLimit">;

const keyBucket = (key: KeyLimitFields): string => `key/${key.id}/${key.rateLimit!.period}`;
const organizationBucket = (organizationId: string): string => `org/${organizationId}`;
const organizationRule = (plan: PlanLimits): RateLimitRule => ({ limit: plan.requestsPerMinute, period: "minute" });

/** The state with the fewest remaining requests (the first on a tie). */
function tightest(states: readonly (RateLimitState | null)[]): RateLimitState {
  let best: RateLimitState | null = null;
  for (const state of states) if (state !== null && (best === null || state.remaining < best.remaining)) best = state;
  return best!;
}

export class CheckLimits {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #quota: MonthlyQuota;

  constructor(options: CheckLimitsOptions) {
    this.#clock = options.clock;
    this.#limiter =
      options.limiter ?? new SlidingWindowLimiter({ clock: options.clock, ...(options.maxBuckets !== undefined && { maxBuckets: options.maxBuckets }) });
    this.#quota = new MonthlyQuota({
      loadMonthlyRequests: options.loadMonthlyRequests,
      ...(options.maxOrganizations !== undefined && { maxOrganizations: options.maxOrganizations }),
    });
  }

  /** See MonthlyQuota.ready: await it (when defined) before `admit` for this organization. */
  ready(organizationId: string, nowMs: number): Promise<void> | undefined {
    return this.#quota.ready(organizationId, nowMs);
  }

  admit(key: Pick<KeyRecord, "id" | "organizationId" | "rateLimit">, plan: PlanLimits, nowMs: number): Admission {
    const orgBucket = organizationBucket(key.organizationId);
    const orgRule = organizationRule(plan);
    const keyRule = key.rateLimit;
    if (keyRule !== null) {
      const state = this.#limiter.peek(keyBucket(key), keyRule, nowMs);
      if (state.remaining === 0) return { admitted: false, reason: "RATE_LIMITED", state };
    }
    const perMinute = this.#limiter.peek(orgBucket, orgRule, nowMs);
    if (perMinute.remaining === 0) return { admitted: false, reason: "QUOTA_EXCEEDED", state: perMinute };
    const monthly = this.#quota.check(key.organizationId, plan.monthlyQuota, nowMs);
    if (monthly.remaining === 0) return { admitted: false, reason: "QUOTA_EXCEEDED", state: monthly };

    const keyAfter = keyRule === null ? null : this.#limiter.hit(keyBucket(key), keyRule, nowMs);
    const perMinuteAfter = this.#limiter.hit(orgBucket, orgRule, nowMs);
    const monthlyAfter = this.#quota.hit(key.organizationId, plan.monthlyQuota, nowMs);
    return { admitted: true, state: tightest([keyAfter, perMinuteAfter, monthlyAfter]) };
  }

  /**
   * The key's own rate limit as the next request would see it, without counting anything: what
   * the admin TestKey RPC reports as {limit, remaining, reset_at}. Null when the key has none.
   */
  peekKeyRateLimit(key: KeyLimitFields, nowMs: number = this.#clock.now()): RateLimitState | null {
    return key.rateLimit === null ? null : this.#limiter.peek(keyBucket(key), key.rateLimit, nowMs);
  }

  /** The organization's per-minute rate and monthly quota, without counting anything. */
  peekOrganization(organizationId: string, plan: PlanLimits, nowMs: number = this.#clock.now()): OrganizationLimits {
    return {
      perMinute: this.#limiter.peek(organizationBucket(organizationId), organizationRule(plan), nowMs),
      monthly: this.#quota.peek(organizationId, plan.monthlyQuota, nowMs),
    };
  }
}

export type { LoadMonthlyRequests, RateLimitState };
