import type { Clock } from "../time/clock.js";
import { monthStartUtc } from "../time/utc-days.js";
import {
  PLAIN_SPEND,
  tightest,
  type Admission,
  type AdmittedKey,
  type CheckLimits,
  type CreditedIdentity,
  type CreditedKey,
  type LimitedIdentity,
  type LimitedKey,
  type LimitPeek,
  type OrganizationLimits,
  type PlanLimits,
  type Spend,
} from "./check-limits.js";
import { creditLinesAt, NO_CREDIT_BALANCES, type CreditLine } from "./credit-lines.js";
import { LeasedBudgets, type BudgetSpec, type LeasedBudgetsOptions } from "./leased-budgets.js";
import { linesOf, ownLimitLines, QUOTA_PREFIX } from "./limit-lines.js";
import type { LoadMonthlyRequests } from "./monthly-quota.js";

/**
 * Limits held exactly across the replicas that share a store, by leasing slices of each window's
 * budget (leased-budgets.ts): each key's and identity's limits in windows of their period (an
 * identity's buckets are named by the identity, so all its keys on every replica spend one
 * count), the organization's per-minute rate in minutes, its monthly quota in UTC calendar
 * months; all on the store's clock. A request spends its cost on each. A bucket's first request
 * in a window on this replica, or one whose slice ran out, waits for one ask (sent with every
 * other bucket that needs one at that moment); hot buckets ask ahead and do not wait. Credits are
 * budgets too, each balance's window named explicitly (credit-lines.ts): the fleet never spends
 * more than a balance; docs/limits.md says how much less it may near zero.
 */

export interface LeasedLimitsOptions extends Omit<LeasedBudgetsOptions, "seed"> {
  /**
   * What the organization admitted this month as stored, for a monthly window leased for the first
   * time; never this process's requests not yet written, which it admitted under grants already counted.
   */
  loadMonthlyRequests: LoadMonthlyRequests;
}

/** A credit line as a leased budget: its window is its own, the unit unused. */
const creditSpec = (credit: CreditLine): BudgetSpec => ({ bucket: credit.bucket, unit: "day", window: { startMs: credit.startMs, endMs: credit.endMs }, limit: credit.limit });
const minuteSpec = (organizationId: string, plan: PlanLimits): BudgetSpec => ({ bucket: `org/${organizationId}/minute`, unit: "minute", limit: plan.requestsPerMinute });
const monthSpec = (organizationId: string, plan: PlanLimits): BudgetSpec => ({
  bucket: `${QUOTA_PREFIX}${organizationId}`,
  unit: "month",
  limit: plan.monthlyQuota,
  seedFirst: true,
});

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

  /** Announces this replica now and learns how many lease beside it (it does so every 2 s by itself). */
  refreshReplicas(): Promise<void> {
    return this.#budgets.refreshReplicas();
  }

  admit(key: AdmittedKey, plan: PlanLimits, nowMs: number, waitMs = Infinity, spend: Spend = PLAIN_SPEND): Admission {
    const lines = linesOf(key, plan, spend.identity, spend.only);
    const credits = key.credits !== undefined || spend.identity?.credits ? creditLinesAt(key, spend.identity, this.#budgets.storeNow(nowMs)) : null;
    if (credits === null) {
      // A line is a BudgetSpec: its bucket, unit, limit and seedFirst.
      const taken = this.#budgets.take(lines.lines, nowMs, waitMs, spend.cost);
      if ("waitFor" in taken) return taken;
      if (taken.admitted) {
        const index = tightest(taken.states);
        return { admitted: true, state: taken.states[index]!, line: lines.lines[index]!, lines, credits: NO_CREDIT_BALANCES };
      }
      const line = lines.lines[taken.index]!;
      return { admitted: false, reason: line.owner === "organization" ? "QUOTA_EXCEEDED" : "RATE_LIMITED", state: taken.state, line, lines };
    }
    // Credits after the rate limits, before the organization's month (the last line).
    const month = lines.lines.length - 1;
    const specs = [...lines.lines.slice(0, month), ...credits.map(creditSpec), lines.lines[month]!];
    const taken = this.#budgets.take(specs, nowMs, waitMs, spend.cost);
    if ("waitFor" in taken) return taken;
    if (taken.admitted) {
      // The headers speak of the limits, not the balances.
      const states = [...taken.states.slice(0, month), taken.states[specs.length - 1]!];
      const index = tightest(states);
      // What this replica knows is left of each balance: the store's unleased rest as of its last
      // ask plus its own unused slice (docs/limits.md: other replicas' unused slices are not in it).
      // A balance admitted from the outage allowance, which the store has not answered for in this
      // window, has no such figure: reporting its 0 would tell of a full balance as spent.
      const balances = credits.flatMap((line, i) => (this.#budgets.answered(line.bucket) ? [{ line, left: taken.states[month + i]!.remaining }] : []));
      return { admitted: true, state: states[index]!, line: lines.lines[index]!, lines, credits: balances };
    }
    if (taken.index >= month && taken.index < month + credits.length) {
      const credit = credits[taken.index - month]!;
      return { admitted: false, reason: "CREDITS_EXHAUSTED", credit, left: this.#budgets.answered(credit.bucket) ? taken.state.remaining : null };
    }
    const line = lines.lines[taken.index < month ? taken.index : month]!;
    return { admitted: false, reason: line.owner === "organization" ? "QUOTA_EXCEEDED" : "RATE_LIMITED", state: taken.state, line, lines };
  }

  peekLimits(key: LimitedKey, identity: LimitedIdentity | null, nowMs: number = this.#clock.now()): LimitPeek[] {
    // A line is a BudgetSpec, named as admit names it.
    return ownLimitLines(key, identity, null).map((line) => ({ line, state: this.#budgets.peek(line, nowMs) }));
  }

  peekOrganization(organizationId: string, plan: PlanLimits, nowMs: number = this.#clock.now()): OrganizationLimits {
    return {
      perMinute: this.#budgets.peek(minuteSpec(organizationId, plan), nowMs),
      monthly: this.#budgets.peek(monthSpec(organizationId, plan), nowMs),
    };
  }

  async debitCredits(key: CreditedKey, identity: CreditedIdentity | null, units: number, nowMs: number = this.#clock.now()): Promise<void> {
    await Promise.all(creditLinesAt(key, identity, this.#budgets.storeNow(nowMs)).map((credit) => this.#budgets.debit(creditSpec(credit), units, nowMs)));
  }

  creditsLeft(line: CreditLine): Promise<number> {
    return this.#budgets.unleased(creditSpec(line));
  }

  close(): Promise<void> {
    return this.#budgets.close();
  }
}
