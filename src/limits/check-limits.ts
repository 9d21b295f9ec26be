import type { Plan } from "../model/plans.js";
import type { KeyRecord } from "../model/records.js";
import type { RateLimitState } from "./rate-limiter.js";

/**
 * The consuming checks of Check, in the contract's order: the key's own rate limit, then the
 * organization's per-minute rate and its monthly quota. An implementation looks at all three
 * before it counts anything, so a denied request spends no budget anywhere, and decides
 * synchronously, so concurrent Checks are counted exactly. Only admitted requests count.
 *
 * Two implementations: LocalLimits (local-limits.ts) when this process is the only one counting
 * (the embedded store), LeasedLimits (leased-limits.ts) when replicas share the store and lease
 * slices of each limit from it. docs/operating.md gives the guarantees of each.
 */

export type PlanLimits = Pick<Plan, "name" | "requestsPerMinute" | "monthlyQuota">;

export type LimitedKey = Pick<KeyRecord, "id" | "organizationId" | "rateLimit">;

export type Admission =
  | { admitted: true; /** The tightest of the limits that apply, after counting this request. */ state: RateLimitState }
  | { admitted: false; reason: "RATE_LIMITED" | "QUOTA_EXCEEDED"; state: RateLimitState }
  /** Something must be fetched first: wait for it (it may reject), then admit again with waitMs 0. */
  | { waitFor: Promise<void> };

export interface OrganizationLimits {
  perMinute: RateLimitState;
  /** Null when this process does not know the organization's month yet. */
  monthly: RateLimitState | null;
}

export interface CheckLimits {
  /**
   * One more request of this key. `waitMs`: how long the Check may still wait for the store (what
   * is left of its budget); 0: decide with what is here, never wait again; absent: as long as the
   * limits' own bound.
   */
  admit(key: LimitedKey, plan: PlanLimits, nowMs: number, waitMs?: number): Admission;
  /**
   * The key's own rate limit as the next request would see it, without counting anything: what
   * the admin TestKey RPC reports as {limit, remaining, reset_at}. Null when the key has none.
   */
  peekKeyRateLimit(key: Pick<KeyRecord, "id" | "rateLimit">, nowMs?: number): RateLimitState | null;
  /** The organization's per-minute rate and monthly quota, without counting anything. */
  peekOrganization(organizationId: string, plan: PlanLimits, nowMs?: number): OrganizationLimits;
  /** Hands back what this process holds for others (leases); after the last Check. */
  close(): Promise<void>;
}

/** The state with the fewest remaining requests (the first on a tie). */
export function tightest(states: readonly RateLimitState[]): RateLimitState {
  let best = states[0]!;
  for (const state of states) if (state.remaining < best.remaining) best = state;
  return best;
}

export type { RateLimitState };
