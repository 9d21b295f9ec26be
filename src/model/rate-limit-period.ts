/** The windows a rate limit counts in: a key's `rateLimit` and every named limit (identities.ts). */
export type RateLimitPeriod = "second" | "minute" | "hour" | "day";
