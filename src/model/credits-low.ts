/**
 * When a balance of credits counts as low, for `key.credits_low` (issue 19): what is left is at
 * most `percent` percent of what its window allows (the balance set, or the refill amount). In
 * whole numbers, so 10 left of 100 at 10% is low and 11 is not, with no rounding in between.
 * Percent 0 is the organization's "never"; a window that allows nothing has nothing to fall from.
 */
export function creditsLow(limit: number, left: number, percent: number): boolean {
  return percent > 0 && limit > 0 && left * 100 <= limit * percent;
}
