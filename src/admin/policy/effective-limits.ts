import type { Plan } from "../../model/plans.js";
import { ADMIN_SCOPES, type ScopeDefinition } from "../../model/scopes.js";
import type { User } from "../../model/records.js";

/**
 * Per-user limits: a user's own values narrow the plan and never widen it. Stored values stay
 * as set, and what applies is computed here each time, so a plan change (an operator moving the
 * organization to a smaller plan) bounds every user at once. Part of the policy: every rule on
 * what a user or their keys may hold, and what a caller may grant, weighs these.
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

/** The highest per-key rate a key may have, and whose limit that is (for the message). */
export interface RateLimitBound {
  maxPerMinute: number;
  /** "the pro plan's", "user user_…'s" */
  whose: string;
}

/** Whether admin scopes may be granted, and if not, what says so ("the free plan", "your user's limits"). */
export interface AdminKeyPermission {
  allowed: boolean;
  deniedBy: string;
}
