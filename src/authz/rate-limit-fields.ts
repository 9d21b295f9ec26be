import type { LimitLine } from "../limits/check-limits.js";
import type { RateLimitState } from "../limits/rate-limiter.js";

/**
 * The RateLimit header fields of draft-ietf-httpapi-ratelimit-headers-11 (May 2026), sent beside
 * the x-ratelimit-* headers: `RateLimit-Policy` lists every limit the request spent on as a
 * quota policy (`"hourly";q=1000;w=3600`: a String identifier, the quota, the window in seconds;
 * made once per set of limits, LimitLines.policyField), and `RateLimit` gives the one closest to
 * running out, the same one x-ratelimit-* describe: `"hourly";r=42;t=17` (remaining units, and
 * the seconds until its window is fully replenished). Identifiers are the limit's name for the
 * key's own, `identity:<name>` for its identity's. The organization's limits are in neither (the
 * fields reach every API client, and its quotas would disclose the business's plan and traffic):
 * when one of them is the closest to running out, `RateLimit` is not sent, and `RateLimit-Policy`
 * is not sent when it lists nothing; x-ratelimit-* still describe the tightest, whoever's it is.
 */

export const RATELIMIT_POLICY = "ratelimit-policy";
export const RATELIMIT = "ratelimit";

export const secondsUntil = (atMs: number, nowMs: number): number => Math.max(0, Math.ceil((atMs - nowMs) / 1000));

/** The RateLimit field for the tightest line, or undefined when that line is the organization's. */
export function rateLimitField(line: LimitLine, state: RateLimitState, nowMs: number): string | undefined {
  if (line.owner === "organization") return undefined;
  return `"${line.policy}";r=${state.remaining};t=${secondsUntil(state.resetAtMs, nowMs)}`;
}
