import type { UserLimits as UserLimitsMessage } from "../../gen/keygate/v1/key_admin_pb.js";
import type { Plan } from "../model/plans.js";
import { ADMIN_SCOPES, type ScopeDefinition } from "../model/scopes.js";
import type { UserLimitsPatch } from "../store/store.js";
import type { UserLimits } from "../model/records.js";
import { adminError, fieldError } from "./errors.js";

/**
 * Per-user limits as AddUser and UpdateUser set them, each within the plan. What a user's limits
 * let them do is the policy's to weigh (policy/effective-limits.ts).
 */

/** The limits by their API names (UpdateUser's reset_limits, error fields) and record names. */
export const LIMIT_NAMES: Readonly<Record<string, keyof UserLimits>> = {
  max_keys: "maxKeys",
  max_rate_limit: "maxRateLimitPerMinute",
  available_scopes: "availableScopes",
  can_create_admin_keys: "canCreateAdminKeys",
};

const MAX_AVAILABLE_SCOPES = 100;

/** The limits present in a request, each within what the plan allows; the error names the field. */
export function validUserLimits(given: UserLimitsMessage | undefined, plan: Plan, catalog: readonly ScopeDefinition[]): UserLimits {
  const limits: UserLimits = {};
  if (!given) return limits;
  if (given.maxKeys !== undefined) {
    if (given.maxKeys < 0 || given.maxKeys > plan.maxKeysPerUser) {
      throw fieldError("limits.max_keys", `must be between 0 and ${plan.maxKeysPerUser}, the ${plan.name} plan's keys per user`);
    }
    limits.maxKeys = given.maxKeys;
  }
  if (given.maxRateLimit !== undefined) {
    if (given.maxRateLimit < 1 || given.maxRateLimit > plan.maxRateLimitPerMinute) {
      throw fieldError(
        "limits.max_rate_limit",
        `must be between 1 and ${plan.maxRateLimitPerMinute} requests per minute, the ${plan.name} plan's maximum`,
      );
    }
    limits.maxRateLimitPerMinute = given.maxRateLimit;
  }
  if (given.availableScopes) {
    const field = "limits.available_scopes";
    const scopes = [...new Set(given.availableScopes.values)];
    if (scopes.length > MAX_AVAILABLE_SCOPES) throw fieldError(field, `must hold at most ${MAX_AVAILABLE_SCOPES} scopes`);
    const known = new Set(catalog.map((scope) => scope.name));
    for (const scope of scopes) {
      if (!known.has(scope)) {
        throw adminError("API_KEY_SCOPE_NAME_INVALID", `${field}: ${JSON.stringify(scope)} is not a known scope (see ListScopes)`, { field, scope });
      }
      if (ADMIN_SCOPES.includes(scope) && !plan.canCreateAdminKeys) {
        throw fieldError(field, `the ${plan.name} plan allows no keys with ${scope}`);
      }
    }
    limits.availableScopes = scopes;
  }
  if (given.canCreateAdminKeys !== undefined) {
    if (given.canCreateAdminKeys && !plan.canCreateAdminKeys) {
      throw fieldError("limits.can_create_admin_keys", `the ${plan.name} plan does not allow admin keys`);
    }
    limits.canCreateAdminKeys = given.canCreateAdminKeys;
  }
  return limits;
}

/** UpdateUser's limits: those given are set, those named in reset_limits go back to the plan. */
export function userLimitsPatch(
  given: UserLimitsMessage | undefined,
  reset: readonly string[],
  plan: Plan,
  catalog: readonly ScopeDefinition[],
): UserLimitsPatch {
  const patch: UserLimitsPatch = validUserLimits(given, plan, catalog);
  for (const name of new Set(reset)) {
    const field = LIMIT_NAMES[name];
    if (field === undefined) {
      throw fieldError("reset_limits", `${JSON.stringify(name)} is not a limit (${Object.keys(LIMIT_NAMES).join(", ")})`);
    }
    if (patch[field] !== undefined) throw fieldError("reset_limits", `${name} cannot be both set and reset`);
    patch[field] = null;
  }
  return patch;
}
