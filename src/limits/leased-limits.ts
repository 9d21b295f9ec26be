import type { Clock } from "../time/clock.js";
import { monthStartUtc } from "../time/utc-days.js";
import type { Admission, CheckLimits, LimitedKey, OrganizationLimits, PlanLimits } from "./check-limits.js";
import { tightest } from "./check-limits.js";
import { LeasedBudgets, type BudgetSpec, type LeasedBudgetsOptions } from "./leased-budgets.js";
import type { LoadMonthlyRequests } from "./monthly-quota.js";
import type { RateLimitState } from "./rate-limiter.js";

/**
 * Limits held exactly across the replicas that share a store, by leasing slices of each window's
 * budget (leased-budgets.ts): the key's rate in windows of its period, the organization's
 * per-minute rate in minutes, its monthly quota in UTC calendar months; all on the store's clock.
 * A bucket's first request in a window on this replica, or one whose slice ran out, waits for one
 * ask (sent with every other bucket that needs one at that moment); hot buckets ask ahead and do
 * not wait.
 */

export interface LeasedLimitsOptions extends Omit<LeasedBudgetsOptions, "seed"> {
  /**
   * What the organization admitted this month as stored, for a monthly window leased for the first
   * time; never this process's requests not yet written, which it admitted under grants already counted.
   */
  loadMonthlyRequests: LoadMonthlyRequests;
}

const QUOTA_PREFIX = "quota/";

// The specs of one key under one plan, made once per record pair: the hot path builds no strings.
interface Specs {
  plan: PlanLimits;
  rateLimit: LimitedKey["rateLimit"];
  organizationId: string;
  requestsPerMinute: number;
  monthlyQuota: number;
  /** The key's own limit first when it has one, then the organization's minute and month. */
  specs: BudgetSpec[];
}
const specsOfKey = new WeakMap<LimitedKey, Specs>();

const keySpec = (key: LimitedKey): BudgetSpec | null =>
  key.rateLimit === null ? null : { bucket: `key/${key.id}/${key.rateLimit.period}`, unit: key.rateLimit.period, limit: key.rateLimit.limit };
const minuteSpec = (organizationId: string, plan: PlanLimits): BudgetSpec => ({ bucket: `org/${organizationId}/minute`, unit: "minute", limit: plan.requestsPerMinute });
const monthSpec = (organizationId: string, plan: PlanLimits): BudgetSpec => ({
  bucket: `${QUOTA_PREFIX}${organizationId}`,
  unit: "month",
  limit: plan.monthlyQuota,
  seedFirst: true,
});

function specsOf(key: LimitedKey, plan: PlanLimits): Specs {
  let specs = specsOfKey.get(key);
  if (
    specs === undefined ||
    specs.plan !== plan ||
    specs.rateLimit !== key.rateLimit ||
    specs.organizationId !== key.organizationId ||
    specs.requestsPerMinute !== plan.requestsPerMinute ||
    specs.monthlyQuota !== plan.monthlyQuota
  ) {
    const own = keySpec(key);
    const organization = [minuteSpec(key.organizationId, plan), monthSpec(key.organizationId, plan)];
    specs = {
      plan,
      rateLimit: key.rateLimit,
      organizationId: key.organizationId,
      requestsPerMinute: plan.requestsPerMinute,
      monthlyQuota: plan.monthlyQuota,
      specs: own === null ? organization : [own, ...organization],
    };
    specsOfKey.set(key, specs);
  }
  return specs;
}

export class LeasedLimits implements CheckLimits {
  readonly #clock: Clock;
  readonly #budgets: LeasedBudgets;

  constructor(options: LeasedLimitsOptions) {
    this.#clock = options.clock;
    const { loadMonthlyRequests, ...budgetOptions } = options;
    this.#budgets = new LeasedBudgets({
      ...budgetOptions,
      // A month leased for the first time (keygate upgraded mid-month, or the organization idle
      // since before last month) starts from the usage stored for it.
      seed: (bucket, windowStartMs) =>
        bucket.startsWith(QUOTA_PREFIX) ? loadMonthlyRequests(bucket.slice(QUOTA_PREFIX.length), monthStartUtc(windowStartMs)) : undefined,
    });
  }

  admit(key: LimitedKey, plan: PlanLimits, nowMs: number, waitMs = Infinity): Admission {
    const { specs } = specsOf(key, plan);
    const taken = this.#budgets.take(specs, nowMs, waitMs);
    if ("waitFor" in taken) return taken;
    if (taken.admitted) return { admitted: true, state: tightest(taken.states) };
    const reason = specs[taken.index]!.bucket.startsWith("key/") ? "RATE_LIMITED" : "QUOTA_EXCEEDED";
    return { admitted: false, reason, state: taken.state };
  }

  peekKeyRateLimit(key: Pick<LimitedKey, "id" | "rateLimit">, nowMs: number = this.#clock.now()): RateLimitState | null {
    const spec = keySpec({ ...key, organizationId: "" });
    return spec === null ? null : this.#budgets.peek(spec, nowMs);
  }

  peekOrganization(organizationId: string, plan: PlanLimits, nowMs: number = this.#clock.now()): OrganizationLimits {
    return {
      perMinute: this.#budgets.peek(minuteSpec(organizationId, plan), nowMs),
      monthly: this.#budgets.peek(monthSpec(organizationId, plan), nowMs),
    };
  }

  close(): Promise<void> {
    return this.#budgets.close();
  }
}
