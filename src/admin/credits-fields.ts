import type { Credits as CreditsMessage } from "../../gen/keygate/v1/key_admin_pb.js";
import type { CreditRefill, Credits } from "../model/identities.js";
import { fieldError } from "./errors.js";
import { REFILL_INTERVALS } from "./mapping.js";

/**
 * Credits as keys and identities hold them. A balance given is a new balance: `setAt` is now, so
 * the limits layer counts its spending afresh (model/identities.ts).
 */

/** Far above any real balance, and exact as a JavaScript number (below 2^53). */
export const MAX_CREDITS = 1_000_000_000_000;

export function validCredits(given: CreditsMessage, field: string, now: Date): Credits {
  const remaining = Number(given.remaining);
  if (remaining < 0 || remaining > MAX_CREDITS) throw fieldError(`${field}.remaining`, `must be between 0 and ${MAX_CREDITS}`);
  return { remaining, refill: given.refill ? validRefill(given.refill, `${field}.refill`) : null, setAt: now };
}

function validRefill(given: NonNullable<CreditsMessage["refill"]>, field: string): CreditRefill {
  const amount = Number(given.amount);
  if (amount < 1 || amount > MAX_CREDITS) throw fieldError(`${field}.amount`, `must be between 1 and ${MAX_CREDITS}`);
  const interval = REFILL_INTERVALS.get(given.interval);
  if (!interval) throw fieldError(`${field}.interval`, "must be REFILL_INTERVAL_DAILY or REFILL_INTERVAL_MONTHLY");
  if (interval === "daily") {
    if (given.day !== 0) throw fieldError(`${field}.day`, "is for monthly refills only; leave it out (0) for a daily one");
    return { amount, interval, day: 0 };
  }
  if (given.day < 0 || given.day > 31) throw fieldError(`${field}.day`, "must be a day of the month, 1 to 31 (0: the 1st)");
  return { amount, interval, day: given.day === 0 ? 1 : given.day };
}
