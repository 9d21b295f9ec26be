import type { Clock } from "../time/clock.js";
import { PLAIN_SPEND, type AdmittedKey, type CheckLimits, type Admission, type CreditedIdentity, type CreditedKey, type LimitedIdentity, type LimitedKey, type LimitPeek, type OrganizationLimits, type PlanLimits, type Spend } from "./check-limits.js";
import { CreditCounts } from "./credit-counts.js";
import { creditLinesAt, NO_CREDIT_BALANCES, type CreditBalance, type CreditLine } from "./credit-lines.js";
import { linesOf, ownLimitLines, type LimitLine } from "./limit-lines.js";
import { MonthlyQuota, type LoadMonthlyRequests } from "./monthly-quota.js";
import { SlidingWindowLimiter, type RateLimitRule, type RateLimitState } from "./rate-limiter.js";

/**
 * Limits counted in this process alone, for a store no other process counts with (the embedded
 * store): sliding windows for the keys' and identities' limits and the organization's per-minute
 * rate, credits counted per balance and window (credit-counts.ts), and the monthly quota seeded
 * from stored usage once per organization and month.
 */

export interface LocalLimitsOptions {
  clock: Clock;
  loadMonthlyRequests: LoadMonthlyRequests;
  /** Key and identity limits whose window is held; default 1,000,000 (see SlidingWindowLimiterOptions). */
  maxBuckets?: number;
  /** Organizations whose per-minute window and monthly count are held; default 100,000. */
  maxOrganizations?: number;
}

const NO_CREDITS: readonly CreditLine[] = Object.freeze([]);

// The organization's rule follows from its plan alone: made once per plan, not once per request.
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
  /** Keys' and identities' windows, found by the line's local name and period. */
  readonly #windows: SlidingWindowLimiter;
  readonly #organizations: SlidingWindowLimiter;
  readonly #quota: MonthlyQuota;
  readonly #credits: CreditCounts;

  constructor(options: LocalLimitsOptions) {
    this.#clock = options.clock;
    this.#windows = new SlidingWindowLimiter({
      clock: options.clock,
      ...(options.maxBuckets !== undefined && { maxBuckets: options.maxBuckets }),
    });
    const maxOrganizations = options.maxOrganizations ?? 100_000;
    this.#organizations = new SlidingWindowLimiter({ clock: options.clock, maxBuckets: maxOrganizations });
    this.#quota = new MonthlyQuota({ loadMonthlyRequests: options.loadMonthlyRequests, maxOrganizations });
    this.#credits = new CreditCounts(options.maxBuckets);
  }

  admit(key: AdmittedKey, plan: PlanLimits, nowMs: number, waitMs = Infinity, spend: Spend = PLAIN_SPEND): Admission {
    // The organization's month is counted from stored usage first (once per organization and
    // month); a load that failed rejects the wait, and the Check answers unavailable. That read
    // is bounded by the store's own read deadline, not by waitMs: without it there is no count.
    const ready = waitMs > 0 ? this.#quota.ready(key.organizationId, nowMs) : undefined;
    if (ready !== undefined) return { waitFor: ready };
    const lines = linesOf(key, plan, spend.identity, spend.only);
    const cost = spend.cost;
    const credits = key.credits !== undefined || spend.identity?.credits ? creditLinesAt(key, spend.identity, nowMs) : NO_CREDITS;
    // Each limit is looked at before any is counted; only the state answered is made. Credits
    // come after the rate limits, before the organization's month.
    for (const line of lines.lines) {
      if (line.local === "month") {
        for (const credit of credits) {
          const left = this.#credits.remaining(credit);
          if (left < cost) return { admitted: false, reason: "CREDITS_EXHAUSTED", credit, left };
        }
      }
      if (this.#remaining(line, nowMs) < cost) {
        return { admitted: false, reason: line.owner === "organization" ? "QUOTA_EXCEEDED" : "RATE_LIMITED", state: this.#state(line, nowMs, cost), line, lines };
      }
    }
    const balances = credits.length === 0 ? NO_CREDIT_BALANCES : credits.map((credit) => this.#spend(credit, cost));
    // The tightest after counting (the first on a tie), as tightest() picks.
    let tightest = lines.lines[0]!;
    let tightestLeft = Infinity;
    for (const line of lines.lines) {
      const left = this.#count(line, nowMs, cost);
      if (left < tightestLeft) {
        tightest = line;
        tightestLeft = left;
      }
    }
    return { admitted: true, state: this.#state(tightest, nowMs, 1), line: tightest, lines, credits: balances };
  }

  #spend(credit: CreditLine, cost: number): CreditBalance {
    this.#credits.spend(credit, cost);
    return { line: credit, left: this.#credits.remaining(credit) };
  }

  #remaining(line: LimitLine, nowMs: number): number {
    if (line.local === "month") return this.#quota.remaining(line.localBucket, line.limit, nowMs);
    return (line.local === "minute" ? this.#organizations : this.#windows).remaining(line.localBucket, line.rule!, nowMs);
  }

  #count(line: LimitLine, nowMs: number, cost: number): number {
    if (line.local === "month") return this.#quota.count(line.localBucket, line.limit, nowMs, cost);
    return (line.local === "minute" ? this.#organizations : this.#windows).count(line.localBucket, line.rule!, nowMs, cost);
  }

  #state(line: LimitLine, nowMs: number, cost: number): RateLimitState {
    if (line.local === "month") return this.#quota.check(line.localBucket, line.limit, nowMs, cost);
    return (line.local === "minute" ? this.#organizations : this.#windows).peek(line.localBucket, line.rule!, nowMs, cost);
  }

  peekLimits(key: LimitedKey, identity: LimitedIdentity | null, nowMs: number = this.#clock.now()): LimitPeek[] {
    return ownLimitLines(key, identity, null).map((line) => ({ line, state: this.#state(line, nowMs, 1) }));
  }

  peekOrganization(organizationId: string, plan: PlanLimits, nowMs: number = this.#clock.now()): OrganizationLimits {
    return {
      perMinute: this.#organizations.peek(organizationId, organizationRule(plan), nowMs),
      monthly: this.#quota.peek(organizationId, plan.monthlyQuota, nowMs),
    };
  }

  async debitCredits(key: CreditedKey, identity: CreditedIdentity | null, units: number, nowMs: number = this.#clock.now()): Promise<void> {
    for (const credit of creditLinesAt(key, identity, nowMs)) this.#credits.debit(credit, units);
  }

  async creditsLeft(line: CreditLine): Promise<number> {
    return this.#credits.remaining(line);
  }

  async close(): Promise<void> {}
}
