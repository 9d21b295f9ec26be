import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { isValidCidr } from "../net/ip-allow-list.js";
import type { ScopeDefinition } from "../model/scopes.js";
import { RateLimitPeriod as RateLimitPeriodEnum } from "../../gen/keygate/v1/key_admin_pb.js";
import { boundRateLimit, rateWithin } from "../store/key-bound.js";
import { PLATFORM_ADMIN } from "../model/platform.js";
import { codePoint, firstUnsafeCharacter } from "../text/unsafe-characters.js";
import type { KeyRateLimit, RateLimitPeriod } from "../model/records.js";
import { adminError, fieldError } from "./errors.js";
import { RATE_LIMIT_PERIODS } from "./mapping.js";
import type { RateLimitBound } from "./policy.js";

/**
 * Field rules of the admin API. Each failure is an ErrorInfo naming the field, raised before
 * anything is written.
 */

const NAME_MAX = 100;
const DESCRIPTION_MAX = 1000;
const REASON_MAX = 500;
const LIST_MAX = 100;
const NAME_CHARACTERS = /^[\p{L}\p{N} _.,:;@#()/+-]+$/u;
const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 3600;
const MAX_EXPIRY_MS = 10 * 365 * 24 * 3600 * 1000;

export function validName(name: string, field = "name"): string {
  const trimmed = name.trim();
  if (trimmed === "") throw fieldError(field, "is required");
  if ([...trimmed].length > NAME_MAX) throw fieldError(field, `must be at most ${NAME_MAX} characters`);
  if (!NAME_CHARACTERS.test(trimmed)) {
    throw fieldError(field, "may contain letters, digits, spaces and _ . , : ; @ # ( ) / + - only");
  }
  return trimmed;
}

/**
 * Free text shown later in terminals and consoles: lines and tabs, but nothing a terminal acts
 * on and no bidirectional override (src/text/unsafe-characters.ts). The message names the
 * character by its code point, so the refusal itself carries none.
 */
export function validText(text: string, field: string, max: number): string {
  if ([...text].length > max) throw fieldError(field, `must be at most ${max} characters`);
  const unsafe = firstUnsafeCharacter(text, "\n\t");
  if (unsafe !== undefined) {
    throw fieldError(field, `must not contain control characters or bidirectional formatting characters (found ${codePoint(unsafe)})`);
  }
  return text;
}

export const validDescription = (description: string): string => validText(description, "description", DESCRIPTION_MAX);

/** RevokeKey's reason, kept in the audit log and printed by `keygate audit`. */
export const validReason = (reason: string): string => validText(reason, "reason", REASON_MAX);

/** How long a regenerated key's old secret keeps working (RegenerateKey, RegenerateOperatorKey); 0 ends it at once. */
export function validGracePeriod(seconds: number, field = "grace_period_seconds"): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_GRACE_PERIOD_SECONDS) {
    throw fieldError(field, `must be between 0 and ${MAX_GRACE_PERIOD_SECONDS}`);
  }
  return seconds;
}

/**
 * Scopes named in a request: at most LIST_MAX, each a known name, duplicates dropped. Known means
 * in the catalog, or platform:admin, which is keygate's own and never granted: whether a caller
 * may grant a scope is the policy's question (policy/key-rules.ts), not a matter of spelling.
 */
export function validScopes(scopes: readonly string[], catalog: readonly ScopeDefinition[], field = "scopes"): string[] {
  if (scopes.length > LIST_MAX) throw fieldError(field, `must hold at most ${LIST_MAX} scopes`);
  const known = new Set([...catalog.map((s) => s.name), PLATFORM_ADMIN]);
  const unique = [...new Set(scopes)];
  for (const scope of unique) {
    if (!known.has(scope)) {
      throw adminError("API_KEY_SCOPE_NAME_INVALID", `${field}: ${JSON.stringify(scope)} is not a known scope (see ListScopes)`, {
        field,
        scope,
      });
    }
  }
  return unique;
}

export function validAllowIps(entries: readonly string[], field = "allow_ips"): string[] {
  if (entries.length > LIST_MAX) throw fieldError(field, `must hold at most ${LIST_MAX} entries`);
  const unique = [...new Set(entries.map((e) => e.trim()))];
  for (const entry of unique) {
    if (!isValidCidr(entry)) {
      throw adminError("API_KEY_ALLOW_IP_INVALID", `${field}: ${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR`, {
        field,
        value: entry.slice(0, 64),
      });
    }
  }
  return unique;
}

export function periodOf(value: RateLimitPeriodEnum, field = "rate_limit_period"): RateLimitPeriod {
  const period = RATE_LIMIT_PERIODS.get(value);
  if (!period) throw fieldError(field, "must be RATE_LIMIT_PERIOD_SECOND, _MINUTE, _HOUR or _DAY");
  return period;
}

/** A positive limit whose per-minute equivalent is within the bound (plan, or the key owner's own). */
export function validRateLimit(limit: number, period: RateLimitPeriod, bound: RateLimitBound, field = "rate_limit"): KeyRateLimit {
  if (!Number.isInteger(limit) || limit <= 0) throw fieldError(field, "must be a positive integer");
  if (!rateWithin({ limit, period }, bound.maxPerMinute)) {
    throw fieldError(field, `${limit} per ${period} exceeds ${bound.whose} maximum of ${bound.maxPerMinute} requests per minute`);
  }
  return { limit, period };
}

/**
 * A key's rate limit when a request sets none, or 0: its owner's bound per minute. 0 never means
 * unlimited, since every plan bounds the rate (a key without a limit of its own would otherwise
 * escape its owner's cap); a period with it is refused rather than guessed at.
 */
export function boundedByDefault(period: RateLimitPeriodEnum, bound: RateLimitBound): KeyRateLimit {
  if (period !== RateLimitPeriodEnum.UNSPECIFIED) {
    throw fieldError("rate_limit_period", `must be left out with rate_limit 0, which gives the key ${bound.whose} maximum of ${bound.maxPerMinute} requests per minute`);
  }
  return boundRateLimit(bound.maxPerMinute);
}

export function validExpiry(expiresAt: Timestamp, nowMs: number): Date {
  let date: Date;
  try {
    date = timestampDate(expiresAt);
  } catch {
    throw fieldError("expires_at", "is not a valid timestamp");
  }
  if (Number.isNaN(date.getTime())) throw fieldError("expires_at", "is not a valid timestamp");
  if (date.getTime() <= nowMs) throw fieldError("expires_at", "must be in the future");
  if (date.getTime() > nowMs + MAX_EXPIRY_MS) throw fieldError("expires_at", "must be within 10 years");
  return date;
}

/** A listing's page size: 0 asks for its default; the key and user listings go to 1000 a page. */
export function validPageSize(pageSize: number, bounds: { fallback: number; max: number } = { fallback: 50, max: 1000 }): number {
  if (pageSize === 0) return bounds.fallback;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > bounds.max) throw fieldError("page_size", `must be between 1 and ${bounds.max}`);
  return pageSize;
}

export function requiredId(id: string, field = "id"): string {
  if (id.trim() === "") throw fieldError(field, "is required");
  return id;
}
