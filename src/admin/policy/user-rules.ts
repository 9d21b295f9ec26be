import { ADMIN_SCOPES } from "../../config/scopes.js";
import type { UserRole } from "../../store/types.js";
import { PLATFORM_ADMIN } from "../../tenancy/platform.js";
import type { EffectiveLimits } from "../user-limits.js";
import { RANK, type Actor } from "./actor.js";
import { ALLOWED, firstRefusal, refuse, type Decision } from "./decision.js";

/**
 * Users: members manage no users; admins add, change and remove members and admins (never owners,
 * never to a role above their own); owners manage everyone; nobody raises their own role or
 * limits. Nobody lowers, through their own call, the rights that call is using either (their own
 * role, a scope their key holds, their own user): another owner or admin can.
 */

/** The user acted on. */
export interface UserTarget {
  id: string;
  role: UserRole;
}

/** A change of limits: the user's limits before and after it (each within the plan). */
export interface LimitsChange {
  before: EffectiveLimits;
  after: EffectiveLimits;
}

const managesUsers = (actor: Actor): Decision =>
  actor.role === "member" ? refuse("USERS_NOT_MANAGED", "only owners and admins manage users; your user is a member") : ALLOWED;

const outranked = (actor: Actor, target: UserTarget): Decision =>
  RANK[target.role] > RANK[actor.role]
    ? refuse("USER_OUTRANKS", `user ${target.id} is an ${target.role}, who ranks above you (${actor.role}); only an owner manages owners`, { field: "id" })
    : ALLOWED;

const roleWithinOwn = (actor: Actor, role: UserRole | undefined): Decision =>
  role !== undefined && RANK[role] > RANK[actor.role]
    ? refuse("ROLE_ABOVE_OWN", `you cannot give the ${role} role, which ranks above your own (${actor.role})`, { field: "role" })
    : ALLOWED;

export function mayAddUser(actor: Actor, role: UserRole): Decision {
  return firstRefusal(
    () => managesUsers(actor),
    () => roleWithinOwn(actor, role),
  );
}

export function mayChangeUser(actor: Actor, target: UserTarget, change: { role?: UserRole; limits?: LimitsChange }): Decision {
  return firstRefusal(
    () => managesUsers(actor),
    () => outranked(actor, target),
    () => roleWithinOwn(actor, change.role),
    () => (target.id === actor.userId ? mayChangeOwnUser(actor, change) : ALLOWED),
  );
}

export function mayRemoveUser(actor: Actor, target: UserTarget): Decision {
  return firstRefusal(
    () => managesUsers(actor),
    () =>
      target.id === actor.userId
        ? refuse("OWN_USER_REMOVED", "you cannot remove your own user while using it; another owner or admin can", { field: "id" })
        : ALLOWED,
    () => outranked(actor, target),
  );
}

function mayChangeOwnUser(actor: Actor, change: { role?: UserRole; limits?: LimitsChange }): Decision {
  if (change.role !== undefined && change.role !== actor.role) {
    return refuse("OWN_ROLE", `you cannot change your own role (${actor.role}); another owner can`, { field: "role" });
  }
  if (change.limits === undefined) return ALLOWED;
  const raised = raisedLimit(change.limits);
  if (raised !== undefined) return refuse("OWN_LIMITS_RAISED", "you cannot raise your own limits; another owner or admin can", { field: raised });
  const kept = new Set(change.limits.after.heldScopes);
  // platform:admin is no limit's to take: the operator keeps it whatever its user's limits say.
  const lost = [...actor.scopes].find((scope) => scope !== PLATFORM_ADMIN && !kept.has(scope));
  if (lost === undefined) return ALLOWED;
  const field = !change.limits.after.keepsAdminScopes && ADMIN_SCOPES.includes(lost) ? "limits.can_create_admin_keys" : "limits.available_scopes";
  return refuse("OWN_RIGHTS_IN_USE", `that would take ${lost} from your own user while your key is using it`, { field, scope: lost });
}

/** The first limit the change widens, by its request field; undefined when none is widened. */
function raisedLimit({ before, after }: LimitsChange): string | undefined {
  if (after.maxKeys > before.maxKeys) return "limits.max_keys";
  if (after.maxRateLimitPerMinute > before.maxRateLimitPerMinute) return "limits.max_rate_limit";
  if ((after.keepsAdminScopes && !before.keepsAdminScopes) || (after.canCreateAdminKeys && !before.canCreateAdminKeys)) {
    return "limits.can_create_admin_keys";
  }
  const held = new Set(before.heldScopes);
  if (after.heldScopes.some((scope) => !held.has(scope))) return "limits.available_scopes";
  return undefined;
}
