import type { RouteSpend } from "../config/route-spend.js";
import type { CreditBalance, CreditedIdentity, CreditedKey, CreditLine } from "./credit-lines.js";
import type { LimitedIdentity, LimitedKey, LimitLine, LimitLines, PlanLimits, RouteLimits } from "./limit-lines.js";
import type { RateLimitState } from "./rate-limiter.js";

/**
 * The consuming checks of Check, in the contract's order (limit-lines.ts): the key's own rate
 * limits, its identity's, the organization's per-minute rate, the key's and its identity's credits
 * (credit-lines.ts), then the organization's monthly quota. Each
 * spends the request's cost. An implementation looks at every limit before it counts anything,
 * so a denied request spends no budget anywhere, and decides synchronously, so concurrent Checks
 * are counted exactly. Only admitted requests count.
 *
 * Two implementations: LocalLimits (local-limits.ts) when this process is the only one counting
 * (the embedded store), LeasedLimits (leased-limits.ts) when replicas share the store and lease
 * slices of each limit from it. docs/operating.md gives the guarantees of each.
 */

export type { CreditBalance, CreditedIdentity, CreditedKey, CreditLine, LimitedIdentity, LimitedKey, LimitLine, LimitLines, PlanLimits, RouteLimits };

/** A key as admit reads it: its limits and its credits. */
export type AdmittedKey = LimitedKey & CreditedKey;

/** What one request spends: its route's cost and limit selection (RouteSpend), and the key's identity as cached. */
export interface Spend extends RouteSpend {
  /** Null: the key has no identity, or its identity is gone (then only the key's own limits and credits apply). */
  readonly identity: LimitedIdentity | null;
}

/** A request of cost 1 on a route that names no limits, by a key without an identity: most Checks. */
export const PLAIN_SPEND: Spend = Object.freeze({ cost: 1, only: null, identity: null });

export type Admission =
  | {
      admitted: true;
      /** The tightest of the limits that apply, after counting this request, and its line. */
      state: RateLimitState;
      line: LimitLine;
      lines: LimitLines;
      /** The key's and its identity's balances, in that order, after counting this request; NO_CREDIT_BALANCES when neither holds credits. */
      credits: readonly CreditBalance[];
    }
  | { admitted: false; reason: "RATE_LIMITED" | "QUOTA_EXCEEDED"; /** The limit that denied, as the request saw it. */ state: RateLimitState; line: LimitLine; lines: LimitLines }
  /**
   * The balance that has less than the cost left (`left`; null when this process cannot tell: a
   * replica cut off from the store); its `endMs` is the next refill.
   */
  | { admitted: false; reason: "CREDITS_EXHAUSTED"; credit: CreditLine; left: number | null }
  /** Something must be fetched first: wait for it (it may reject), then admit again with waitMs 0. */
  | { waitFor: Promise<void> };

/** One of a key's or its identity's limits, and its state, without counting anything (CheckLimits.peekLimits). */
export interface LimitPeek {
  readonly line: LimitLine;
  readonly state: RateLimitState;
}

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
  admit(key: AdmittedKey, plan: PlanLimits, nowMs: number, waitMs?: number, spend?: Spend): Admission;
  /**
   * Spends `units` from the key's and its identity's credits whatever is left (a cost the response
   * reported, after the request was admitted): each balance goes down by `units`, or to zero when
   * less is left, never below. Resolves once counted (leased: in the store).
   */
  debitCredits(key: CreditedKey, identity: CreditedIdentity | null, units: number, nowMs?: number): Promise<void>;
  /**
   * What is left of a balance in its window (credit-lines.ts), spending nothing: what the admin
   * API shows as `credits.left`. Exact in one process; across replicas, what no replica has taken
   * yet, so up to the slices they hold unused below the exact figure.
   */
  creditsLeft(line: CreditLine): Promise<number>;
  /**
   * Every limit of the key and of its identity (null: none, or gone), the key's `default` first,
   * as a request spending all of them would find it, counting nothing: what the admin TestKey RPC
   * reports. Leased: as this replica knows it (the store's unleased rest as of its last ask plus
   * its own unused slice; a bucket it has not leased in this window shows its whole limit).
   */
  peekLimits(key: LimitedKey, identity: LimitedIdentity | null, nowMs?: number): LimitPeek[];
  /** The organization's per-minute rate and monthly quota, without counting anything. */
  peekOrganization(organizationId: string, plan: PlanLimits, nowMs?: number): OrganizationLimits;
  /** Hands back what this process holds for others (leases); after the last Check. */
  close(): Promise<void>;
}

/** The index of the state with the fewest remaining units (the first on a tie). */
export function tightest(states: readonly RateLimitState[]): number {
  let best = 0;
  for (let i = 1; i < states.length; i++) if (states[i]!.remaining < states[best]!.remaining) best = i;
  return best;
}

export type { RateLimitState };
