import type { Plan } from "../../model/plans.js";
import type { ScopeDefinition } from "../../model/scopes.js";
import type { KeyRecord, User, UserRole } from "../../model/records.js";
import { PLATFORM_ADMIN } from "../../model/platform.js";
import { effectiveLimits, type EffectiveLimits } from "./effective-limits.js";

/** Roles rank owner > admin > member. */
export const RANK: Readonly<Record<UserRole, number>> = { member: 0, admin: 1, owner: 2 };

/**
 * The rank of a key's or user's role; null is a user who was removed. Their keys rank as a
 * member's: any admin may then disable, hand on or revoke what they left behind, and no member
 * but its owner (who is gone) ever could.
 */
export const rankOf = (role: UserRole | null): number => RANK[role ?? "member"];

/**
 * Who is acting: the calling key's rights as the policy weighs them. A caller acts with its key's
 * scopes bounded by its user's limits (a scope the user may no longer hold is not used, even
 * before the key itself is re-bounded), and platform:admin only as a platform operator.
 */
export interface Actor {
  keyId: string;
  userId: string;
  role: UserRole;
  scopes: ReadonlySet<string>;
  /** The scopes the key itself holds, used or not (to tell a forged platform:admin key from a key without it). */
  keyScopes: readonly string[];
  operator: boolean;
  /** The caller's user's limits (within the plan). */
  limits: EffectiveLimits;
}

export interface ActorSource {
  key: Pick<KeyRecord, "id" | "scopes">;
  user: Pick<User, "id" | "role" | "limits">;
  plan: Plan;
  operator: boolean;
}

export function actorOf(caller: ActorSource, catalog: readonly ScopeDefinition[]): Actor {
  const limits = effectiveLimits(caller.plan, catalog, caller.user);
  const held = new Set(limits.heldScopes);
  const scopes = caller.key.scopes.filter((scope) => held.has(scope) || (scope === PLATFORM_ADMIN && caller.operator));
  return { keyId: caller.key.id, userId: caller.user.id, role: caller.user.role, scopes: new Set(scopes), keyScopes: caller.key.scopes, operator: caller.operator, limits };
}
