import type { Clock } from "../time/clock.js";
import type { CheckLimits, Admission, LimitedKey, OrganizationLimits, PlanLimits } from "./check-limits.js";
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
  /** Keys whose rate-limit window is held; default 1,000,000 (see SlidingWindowLimiterOptions). */
  maxBuckets?: number;
  /** Organizations whose per-minute window and monthly count are held; default 100,000. */
  maxOrganizations?: number;
}

type KeyLimitFields = Pick<LimitedKey, "id" | "rateLimit">;

// A key's window is found by the key's id and its period, an organization's by its id: strings
// the cached record already holds, so counting a request builds no name. The organization's rule
// follows from its plan alone: made once per plan, not once per request.
const organizationRules = new WeakMap<PlanLimits, RateLimitRule>();

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
  readonly #keys: SlidingWindowLimiter;
  readonly #organizations: SlidingWindowLimiter;
  readonly #quota: MonthlyQuota;

  constructor(options: LocalLimitsOptions) {
    this.#clock = options.clock;
    this.#keys = new SlidingWindowLimiter({
      clock: options.clock,
      ...(options.maxBuckets !== undefined && { maxBuckets: options.maxBuckets }),
    });
    const maxOrganizations = options.maxOrganizations ?? 100_000;
    this.#organizations = new SlidingWindowLimiter({ clock: options.clock, maxBuckets: maxOrganizations });
    this.#quota = new MonthlyQuota({ loadMonthlyRequests: options.loadMonthlyRequests, maxOrganizations });
  }

  admit(key: LimitedKey, plan: PlanLimits, nowMs: number, waitMs = Infinity): Admission {
    // The organization's month is counted from stored usage first (once per organization and
    // month); a load that failed rejects the wait, and the Check answers unavailable. That read
    // is bounded by the store's own read deadline, not by waitMs: without it there is no count.
    const ready = waitMs > 0 ? this.#quota.ready(key.organizationId, nowMs) : undefined;
    if (ready !== undefined) return { waitFor: ready };
    const organizationId = key.organizationId;
    const orgRule = organizationRule(plan);
    const keyRule = key.rateLimit;
    // Each limit is looked at before any is counted; only the state answered is made.
    if (keyRule !== null && this.#keys.remaining(key.id, keyRule, nowMs) === 0) {
      return { admitted: false, reason: "RATE_LIMITED", state: this.#keys.peek(key.id, keyRule, nowMs) };
    }
    if (this.#organizations.remaining(organizationId, orgRule, nowMs) === 0) {
      return { admitted: false, reason: "QUOTA_EXCEEDED", state: this.#organizations.peek(organizationId, orgRule, nowMs) };
    }
    if (this.#quota.remaining(organizationId, plan.monthlyQuota, nowMs) === 0) {
      return { admitted: false, reason: "QUOTA_EXCEEDED", state: this.#quota.check(organizationId, plan.monthlyQuota, nowMs) };
    }

    const perMinuteLeft = this.#organizations.count(organizationId, orgRule, nowMs);
    const monthlyLeft = this.#quota.count(organizationId, plan.monthlyQuota, nowMs);
    // The tightest of key, per-minute and monthly (the first on a tie), as tightest() picks.
    if (keyRule !== null) {
      const keyLeft = this.#keys.count(key.id, keyRule, nowMs);
      if (keyLeft <= perMinuteLeft && keyLeft <= monthlyLeft) return { admitted: true, state: this.#keys.peek(key.id, keyRule, nowMs) };
    }
    if (monthlyLeft < perMinuteLeft) return { admitted: true, state: this.#quota.check(organizationId, plan.monthlyQuota, nowMs) };
    return { admitted: true, state: this.#organizations.peek(organizationId, orgRule, nowMs) };
  }

  peekKeyRateLimit(key: KeyLimitFields, nowMs: number = this.#clock.now()): RateLimitState | null {
    return key.rateLimit === null ? null : this.#keys.peek(key.id, key.rateLimit, nowMs);
  }

  peekOrganization(organizationId: string, plan: PlanLimits, nowMs: number = this.#clock.now()): OrganizationLimits {
    return {
      perMinute: this.#organizations.peek(organizationId, organizationRule(plan), nowMs),
      monthly: this.#quota.peek(organizationId, plan.monthlyQuota, nowMs),
    };
  }

  async close(): Promise<void> {}
}
