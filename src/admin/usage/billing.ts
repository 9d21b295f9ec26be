import type { Plan } from "../../model/plans.js";
import { fieldError } from "../errors.js";
import { monthOf, utcDay, type DayRange } from "../../time/utc-days.js";

/**
 * Billing: a calendar month (UTC) of a key's allowed requests and data transferred, priced by the
 * organization's plan. Money is integer minor units throughout: each key's cost is computed
 * exactly in BigInt and rounded once, half up, to a minor unit; the total is the sum of the
 * keys' rounded costs, so the lines of a bill always add up to its total.
 */

const BILLING_PERIOD = /^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$/;

/** The days of a `YYYY-MM` period that has begun; an invalid_argument naming billing_period otherwise. */
export function billingMonth(period: string, nowMs: number): DayRange {
  if (!BILLING_PERIOD.test(period)) {
    throw fieldError("billing_period", `must be a month as YYYY-MM (for example 2031-03), got ${JSON.stringify(period)}`);
  }
  const month = monthOf(`${period}-01`);
  if (month.from > utcDay(nowMs)) throw fieldError("billing_period", `${period} is in the future`);
  return month;
}

const MICRO = 1_000_000n;

/**
 * requests × price per 1,000 + bytes × price per MB (10^6 bytes), in minor units, rounded half
 * up. Prices are integers, so the exact cost is a whole number of millionths of a minor unit.
 */
export function estimatedCost(requests: number, bytes: number, plan: Pick<Plan, "pricePerThousandRequests" | "pricePerMegabyte">): bigint {
  const millionths = BigInt(requests) * BigInt(plan.pricePerThousandRequests) * 1_000n + BigInt(bytes) * BigInt(plan.pricePerMegabyte);
  return (millionths + MICRO / 2n) / MICRO;
}
