import type { UserLimits as UserLimitsMessage } from "../../gen/keygate/v1/key_admin_pb.js";
import type { Plan } from "../model/plans.js";
import { ADMIN_SCOPES, type ScopeDefinition } from "../model/scopes.js";
import type { UserLimitsPatch } from "../store/store.js";
import type { User, UserLimits } from "../model/records.js";
import { adminError, fieldError } from "./errors.js";
import type { AdminKeyPermission, RateLimitBound } from "./validation.js";

/**
 * Per-user limits: a user's own values narrow the plan and never widen it. Stored values stay
 * as set, and what applies is computed here each time, so a plan change (an operator moving the
 * organization to a smaller plan) bounds every user at once.
 */
export interface EffectiveLimits {
  maxKeys: number;
  maxRateLimitPerMinute: number;
  canCreateAdminKeys: boolean;
  /** Catalog scopes the user's keys may be given, in catalog order (admin ones only with canCreateAdminKeys). */
  availableScopes: string[];
  /** False once the user's own can_create_admin_keys is false: their keys may then keep no admin scope. */
  keepsAdminScopes: boolean;
  /**
   * Catalog scopes the user's keys may keep, in catalog order: their own available_scopes, and
   * admin scopes unless keepsAdminScopes is false. Wider than availableScopes only by the plan's
   * can_create_admin_keys, which stops new admin keys being made but leaves the organization the
   * admin key it was bootstrapped with. Narrowing it re-bounds the user's keys (key-rebound.ts).
   */
  heldScopes: string[];
  /** For messages: what bounds the rate and the admin keys. */
  rateLimitBound: RateLimitBound;
  adminKeys: AdminKeyPermission;
}

export function effectiveLimits(plan: Plan, catalog: readonly ScopeDefinition[], user: Pick<User, "id" | "limits">): EffectiveLimits {
  const own = user.limits ?? {};
  const keepsAdminScopes = own.canCreateAdminKeys !== false;
  const canCreateAdminKeys = plan.canCreateAdminKeys && keepsAdminScopes;
  const allowed = own.availableScopes && new Set(own.availableScopes);
  const held = catalog.map((scope) => scope.name).filter((name) => (!allowed || allowed.has(name)) && (keepsAdminScopes || !ADMIN_SCOPES.includes(name)));
  const ownRate = own.maxRateLimitPerMinute !== undefined && own.maxRateLimitPerMinute < plan.maxRateLimitPerMinute;
  return {
    maxKeys: Math.min(own.maxKeys ?? plan.maxKeysPerUser, plan.maxKeysPerUser),
    maxRateLimitPerMinute: ownRate ? own.maxRateLimitPerMinute! : plan.maxRateLimitPerMinute,
    canCreateAdminKeys,
    availableScopes: held.filter((name) => canCreateAdminKeys || !ADMIN_SCOPES.includes(name)),
    keepsAdminScopes,
    heldScopes: held,
    rateLimitBound: {
      maxPerMinute: ownRate ? own.maxRateLimitPerMinute! : plan.maxRateLimitPerMinute,
      whose: ownRate ? `user ${user.id}'s` : `the ${plan.name} plan's`,
    },
    adminKeys: {
      allowed: canCreateAdminKeys,
      deniedBy: plan.canCreateAdminKeys ? `user ${user.id}'s limits` : `the ${plan.name} plan`,
    },
  };
}

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
