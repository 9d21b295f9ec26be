import type { RateLimitPeriod } from "./rate-limit-period.js";

/**
 * Identities, named limits and credits (issue 19, contract "Identities, named limits, cost and
 * credits"). An identity is a customer or tenant of an organization: the limits and credits it
 * holds are shared by every key tied to it (KeyRecord.identityId), across replicas.
 */

/** One named limit: `limit` requests (of cost 1 each) per `period`. */
export interface NamedLimit {
  /** Letters, digits, `_`, `-`, `.`; 1–64 characters. `default` is the key's `rateLimit`. */
  name: string;
  limit: number;
  period: RateLimitPeriod;
}

/** The limit name the key's single `rateLimit` (rate_limit/rate_limit_period) goes by. */
export const DEFAULT_LIMIT_NAME = "default";

export type RefillInterval = "daily" | "monthly";

export interface CreditRefill {
  /** What `remaining` is set to at each refill (not added: unused credits do not pile up). */
  amount: number;
  interval: RefillInterval;
  /** Monthly only: the day of the month (1–31; a shorter month refills on its last day). */
  day: number;
}

/**
 * A balance spent by Checks (their cost) and by response-reported costs. `remaining` is what an
 * admin last set; what is left now is that minus what was spent since (the limits layer counts
 * spending exactly across replicas), until the next refill sets it to `refill.amount`.
 */
export interface Credits {
  remaining: number;
  refill: CreditRefill | null;
  /**
   * When `remaining` was set (create, update, or a refill boundary): spending is counted from
   * here, so a new balance is a new count and never inherits the old one's spending.
   */
  setAt: Date;
}

export interface IdentityRecord {
  id: string;
  organizationId: string;
  /** The organization's own id for this customer (unique within the organization). */
  externalId: string;
  name: string;
  meta: Record<string, string>;
  limits: NamedLimit[];
  credits: Credits | null;
  createdAt: Date;
  updatedAt: Date;
}
