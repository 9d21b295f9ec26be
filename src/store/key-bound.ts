import type { KeyRateLimit, KeyRecord, RateLimitPeriod } from "../model/records.js";

/**
 * The most one user's keys may hold: the scopes their limits allow and their highest rate. When
 * a user's limits narrow, their existing keys are brought back within it (`boundKeysOfOwner`),
 * so a cap never leaves keys above it behind.
 */
export interface KeyBound {
  /** Scopes a key may keep; any other scope is taken off. */
  scopes: readonly string[];
  /**
   * Highest rate, in requests per minute once the key's period is converted. A key above it, or
   * without a rate limit, gets exactly this many per minute.
   */
  maxPerMinute: number;
}

export const SECONDS_PER_PERIOD: Readonly<Record<RateLimitPeriod, number>> = { second: 1, minute: 60, hour: 3600, day: 86400 };

export const perMinuteOf = (rateLimit: KeyRateLimit): number => (rateLimit.limit * 60) / SECONDS_PER_PERIOD[rateLimit.period];

/** In integers (limit × 60 against bound × seconds), so no rounding lets a key slip past its bound. */
export const rateWithin = (rateLimit: KeyRateLimit | null, maxPerMinute: number): rateLimit is KeyRateLimit =>
  rateLimit !== null && rateLimit.limit * 60 <= maxPerMinute * SECONDS_PER_PERIOD[rateLimit.period];

/** The rate limit a key gets when it has none of its own, or one above its bound. */
export const boundRateLimit = (maxPerMinute: number): KeyRateLimit => ({ limit: maxPerMinute, period: "minute" });

/**
 * The key's scopes, rate limit and named limits brought within the bound; null when they already
 * are. A named limit above it becomes the bound per minute under its own name, as the rate limit
 * does: a route may spend a key's named limits alone, so they are bounded like its rate.
 */
export function boundedFields(
  key: Pick<KeyRecord, "scopes" | "rateLimit" | "limits">,
  bound: KeyBound,
): Pick<KeyRecord, "scopes" | "rateLimit" | "limits"> | null {
  const allowed = new Set(bound.scopes);
  const scopes = key.scopes.filter((scope) => allowed.has(scope));
  const rateOk = rateWithin(key.rateLimit, bound.maxPerMinute);
  const limits = key.limits ?? [];
  const limitsOk = limits.every(({ limit, period }) => rateWithin({ limit, period }, bound.maxPerMinute));
  if (scopes.length === key.scopes.length && rateOk && limitsOk) return null;
  return {
    scopes,
    rateLimit: rateOk ? key.rateLimit : boundRateLimit(bound.maxPerMinute),
    ...(key.limits && {
      limits: limits.map((named) => (rateWithin({ limit: named.limit, period: named.period }, bound.maxPerMinute) ? named : { name: named.name, ...boundRateLimit(bound.maxPerMinute) })),
    }),
  };
}
