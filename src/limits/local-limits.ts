import type { Clock } from "../time/clock.js";
import type { CheckLimits, Admission, LimitedKey, OrganizationLimits, PlanLimits } from "./check-limits.js";
import { tightest } from "./check-limits.js";
import { MonthlyQuota, type LoadMonthlyRequests } from "./monthly-quota.js";
import { SlidingWindowLimiter, type RateLimitRule, type RateLimitState } from "./rate-limiter.js";

/**
 * Limits counted in this process alone, for a store no other process counts with (the embedded
 * store): sliding windows for the key's rate and the organization's per-minute rate, and the
 * monthly quota seeded from stored usage once per organization and month.
 */

export interface LocalLimitsOptions {
  clock: Clock;
  loadMonthlyRequests: LoadMonthlyRequests;
  /** Rate-limit buckets held (keys and organizations); default 100,000. */
  maxBuckets?: number;
  /** Organizations whose monthly count is held; default 100,000. */
  maxOrganizations?: number;
}

type KeyLimitFields = Pick<LimitedKey, "id" | "rateLimit">;

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

export class LocalLimits implements CheckLimits {
  readonly #clock: Clock;
  readonly #limiter: SlidingWindowLimiter;
  readonly #quota: MonthlyQuota;

  constructor(options: LocalLimitsOptions) {
    this.#clock = options.clock;
    this.#limiter = new SlidingWindowLimiter({
      clock: options.clock,
      ...(options.maxBuckets !== undefined && { maxBuckets: options.maxBuckets }),
    });
    this.#quota = new MonthlyQuota({
      loadMonthlyRequests: options.loadMonthlyRequests,
      ...(options.maxOrganizations !== undefined && { maxOrganizations: options.maxOrganizations }),
    });
  }

  admit(key: LimitedKey, plan: PlanLimits, nowMs: number, mayWait = true): Admission {
    // The organization's month is counted from stored usage first (once per organization and
    // month); a load that failed rejects the wait, and the Check answers unavailable.
    const ready = mayWait ? this.#quota.ready(key.organizationId, nowMs) : undefined;
    if (ready !== undefined) return { waitFor: ready };
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

    const perMinuteAfter = this.#limiter.hit(orgBucket, orgRule, nowMs);
    const monthlyAfter = this.#quota.hit(key.organizationId, plan.monthlyQuota, nowMs);
    const states = keyRule === null ? [perMinuteAfter, monthlyAfter] : [this.#limiter.hit(names.key, keyRule, nowMs), perMinuteAfter, monthlyAfter];
    return { admitted: true, state: tightest(states) };
  }

  peekKeyRateLimit(key: KeyLimitFields, nowMs: number = this.#clock.now()): RateLimitState | null {
    return key.rateLimit === null ? null : this.#limiter.peek(buckets(key).key, key.rateLimit, nowMs);
  }

  peekOrganization(organizationId: string, plan: PlanLimits, nowMs: number = this.#clock.now()): OrganizationLimits {
    return {
      perMinute: this.#limiter.peek(organizationBucketOf(organizationId), organizationRule(plan), nowMs),
      monthly: this.#quota.peek(organizationId, plan.monthlyQuota, nowMs),
    };
  }

  async close(): Promise<void> {}
}
