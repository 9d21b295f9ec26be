import type { Plan } from "../model/plans.js";
import type { KeyRecord } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import { MonthlyQuota, type LoadMonthlyRequests } from "./monthly-quota.js";
import type { RateLimitCounterRepository } from "../store/store.js";
import { syncFleetRateLimits } from "./fleet-rate-limits.js";
import { SlidingWindowLimiter, type RateLimitRule, type RateLimitState } from "./rate-limiter.js";

/**
 * The consuming checks of Check, in the contract's order: the key's own rate limit, then the
 * organization's per-minute rate and its monthly quota. `admit` looks at all three before it
 * counts anything, so a denied request spends no budget anywhere, and it runs synchronously, so
 * concurrent Checks are counted exactly. Only admitted requests count.
 *
 * Counters live in this process. With several replicas, the rate-limit counts are exchanged
 * through the store in the background (syncRateLimits, fleet-rate-limits.ts), and the quota is
 * seeded from stored usage once per organization and month, then refreshed from it periodically
 * (refreshMonthlyQuotas); docs/operating.md gives the bounds.
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
  /** The store's shared counts, when other replicas count the same keys (MongoDB). */
  sharedCounters?: RateLimitCounterRepository;
}

type KeyLimitFields = Pick<KeyRecord, "id" | "rateLimit">;

const keyBucketOf = (key: KeyLimitFields): string => `key/${key.id}/${key.rateLimit!.period}`;
const organizationBucketOf = (organizationId: string): string => `org/${organizationId}`;

// Bucket names and rules are the same for every request of a cached key and plan: made once per
// record instead of a new string to build and hash on every request. The fields they are made of
// are compared on each use, so a record changed in place still gets the right names.
interface BucketNames {
  id: string;
  organizationId: string | undefined;
  rateLimit: KeyLimitFields["rateLimit"];
  period: string | undefined;
  key: string;
  organization: string;
}
// Memos of what follows from a key's or a plan's limits alone, dropped with the record.
const keyBuckets = new WeakMap<KeyLimitFields, BucketNames>();
const organizationRules = new WeakMap<PlanLimits, RateLimitRule>();

function buckets(key: KeyLimitFields & { organizationId?: string }): BucketNames {
  let names = keyBuckets.get(key);
  if (names === undefined || names.id !== key.id || names.rateLimit !== key.rateLimit || names.period !== key.rateLimit?.period || names.organizationId !== key.organizationId) {
    names = {
      id: key.id,
      organizationId: key.organizationId,
      rateLimit: key.rateLimit,
      period: key.rateLimit?.period,
      key: key.rateLimit === null ? "" : keyBucketOf(key),
      organization: key.organizationId === undefined ? "" : organizationBucketOf(key.organizationId),
    };
    keyBuckets.set(key, names);
  }
  return names;
}

function organizationRule(plan: PlanLimits): RateLimitRule {
  let rule = organizationRules.get(plan);
  if (rule === undefined || rule.limit !== plan.requestsPerMinute) {
    rule = { limit: plan.requestsPerMinute, period: "minute" };
    organizationRules.set(plan, rule);
  }
  return rule;
}

/** The state with the fewest remaining requests (the first on a tie). */
function tightest(a: RateLimitState | null, b: RateLimitState, c: RateLimitState): RateLimitState {
  let best = a ?? b;
  if (b.remaining < best.remaining) best = b;
  if (c.remaining < best.remaining) best = c;
  return best;
}

export class CheckLimits {
  readonly #clock: Clock;
  readonly #limiter: SlidingWindowLimiter;
  readonly #sharedCounters: RateLimitCounterRepository | undefined;
  readonly #quota: MonthlyQuota;

  constructor(options: CheckLimitsOptions) {
    this.#clock = options.clock;
    this.#sharedCounters = options.sharedCounters;
    this.#limiter = new SlidingWindowLimiter({
      clock: options.clock,
      shared: options.sharedCounters !== undefined,
      ...(options.maxBuckets !== undefined && { maxBuckets: options.maxBuckets }),
    });
    this.#quota = new MonthlyQuota({
      loadMonthlyRequests: options.loadMonthlyRequests,
      ...(options.maxOrganizations !== undefined && { maxOrganizations: options.maxOrganizations }),
    });
  }

  /**
   * Exchanges rate-limit counts with the other replicas (fleet-rate-limits.ts); rejects when the
   * store fails. Nothing to do without shared counters.
   */
  async syncRateLimits(): Promise<void> {
    if (this.#sharedCounters !== undefined) await syncFleetRateLimits(this.#limiter, this.#sharedCounters);
  }

  /** See MonthlyQuota.refresh: other replicas' admitted requests join the monthly counts. */
  refreshMonthlyQuotas(nowMs: number): Promise<boolean> {
    return this.#quota.refresh(nowMs);
  }

  /** See MonthlyQuota.ready: await it (when defined) before `admit` for this organization. */
  ready(organizationId: string, nowMs: number): Promise<void> | undefined {
    return this.#quota.ready(organizationId, nowMs);
  }

  admit(key: Pick<KeyRecord, "id" | "organizationId" | "rateLimit">, plan: PlanLimits, nowMs: number): Admission {
    const names = buckets(key);
    const orgBucket = names.organization;
    const orgRule = organizationRule(plan);
    const keyRule = key.rateLimit;
    if (keyRule !== null) {
      const state = this.#limiter.peek(names.key, keyRule, nowMs);
      if (state.remaining === 0) return { admitted: false, reason: "RATE_LIMITED", state };
    }
    const perMinute = this.#limiter.peek(orgBucket, orgRule, nowMs);
    if (perMinute.remaining === 0) return { admitted: false, reason: "QUOTA_EXCEEDED", state: perMinute };
    const monthly = this.#quota.check(key.organizationId, plan.monthlyQuota, nowMs);
    if (monthly.remaining === 0) return { admitted: false, reason: "QUOTA_EXCEEDED", state: monthly };

    const keyAfter = keyRule === null ? null : this.#limiter.hit(names.key, keyRule, nowMs);
    const perMinuteAfter = this.#limiter.hit(orgBucket, orgRule, nowMs);
    const monthlyAfter = this.#quota.hit(key.organizationId, plan.monthlyQuota, nowMs);
    return { admitted: true, state: tightest(keyAfter, perMinuteAfter, monthlyAfter) };
  }

  /**
   * The key's own rate limit as the next request would see it, without counting anything: what
   * the admin TestKey RPC reports as {limit, remaining, reset_at}. Null when the key has none.
   */
  peekKeyRateLimit(key: KeyLimitFields, nowMs: number = this.#clock.now()): RateLimitState | null {
    return key.rateLimit === null ? null : this.#limiter.peek(buckets(key).key, key.rateLimit, nowMs);
  }

  /** The organization's per-minute rate and monthly quota, without counting anything. */
  peekOrganization(organizationId: string, plan: PlanLimits, nowMs: number = this.#clock.now()): OrganizationLimits {
    return {
      perMinute: this.#limiter.peek(organizationBucketOf(organizationId), organizationRule(plan), nowMs),
      monthly: this.#quota.peek(organizationId, plan.monthlyQuota, nowMs),
    };
  }
}

export type { LoadMonthlyRequests, RateLimitState };
