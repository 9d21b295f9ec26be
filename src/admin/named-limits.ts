import type { NamedLimit as NamedLimitMessage } from "../../gen/keygate/v1/key_admin_pb.js";
import { DEFAULT_LIMIT_NAME, type NamedLimit } from "../model/identities.js";
import { fieldError } from "./errors.js";
import type { RateLimitBound } from "./policy.js";
import { periodOf, validRateLimit } from "./validation.js";

/**
 * Named limits as keys and identities hold them (contract: "Identities, named limits, cost and
 * credits"). Each failure is an API_KEY_FIELD_INVALID naming the limit by its index.
 */

export const MAX_NAMED_LIMITS = 16;
/** Far above any real limit, low enough that a window's count stays a small integer everywhere. */
export const MAX_LIMIT = 1_000_000_000;
const LIMIT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface NamedLimitRules {
  /** A key's limits: its owner's rate bound (compared per minute, as rate_limit is) and no `default`. */
  bound?: RateLimitBound;
}

/** The limits given, in order, each checked; `field` is the list's name (`limits`, `limits.values`). */
export function validNamedLimits(given: readonly NamedLimitMessage[], field: string, rules: NamedLimitRules = {}): NamedLimit[] {
  if (given.length > MAX_NAMED_LIMITS) throw fieldError(field, `must hold at most ${MAX_NAMED_LIMITS} limits`);
  const names = new Set<string>();
  return given.map((limit, index) => {
    const at = `${field}[${index}]`;
    if (!LIMIT_NAME.test(limit.name)) throw fieldError(`${at}.name`, "must be 1 to 64 letters, digits, _, - or .");
    if (names.has(limit.name)) throw fieldError(`${at}.name`, `${JSON.stringify(limit.name)} is given twice; limit names are unique`);
    names.add(limit.name);
    if (rules.bound && limit.name === DEFAULT_LIMIT_NAME) {
      throw fieldError(`${at}.name`, `"${DEFAULT_LIMIT_NAME}" is the key's rate_limit; set that instead`);
    }
    const period = periodOf(limit.period, `${at}.period`);
    if (!Number.isInteger(limit.limit) || limit.limit < 1 || limit.limit > MAX_LIMIT) {
      throw fieldError(`${at}.limit`, `must be between 1 and ${MAX_LIMIT}`);
    }
    if (rules.bound) validRateLimit(limit.limit, period, rules.bound, `${at}.limit`);
    return { name: limit.name, limit: limit.limit, period };
  });
}
