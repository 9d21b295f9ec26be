import { ADMIN_SCOPES } from "../../model/scopes.js";
import type { UserRole } from "../../model/records.js";
import { PLATFORM_ADMIN } from "../../model/platform.js";
import type { EffectiveLimits } from "./effective-limits.js";
import { RANK, type Actor } from "./actor.js";
import { ALLOWED, firstRefusal, refuse, type Decision } from "./decision.js";

/**
 * Users: members manage no users; admins add, change and remove members and admins (never owners,
 * never to a role above their own); owners manage everyone; nobody raises their own role or
 * limits. Nobody lowers, through their own call, the rights that call is using either (their own
 * role, a scope their key holds, their own user): another owner or admin can.
 *
 * Limits are granted like scopes: a caller gives another user no limit beyond its own (owners
 * included), so a capped caller cannot add or widen a "puppet" user to hold the keys it may not.
 */

/** The user acted on. */
export interface UserTarget {
  id: string;
  role: UserRole;
}

/** What the limit rules weigh of a user's limits (each within the plan). */
export type HeldLimits = Pick<EffectiveLimits, "maxKeys" | "maxRateLimitPerMinute" | "canCreateAdminKeys" | "keepsAdminScopes" | "heldScopes">;

/** A change of limits: the user's limits before and after it, and the limits it hands back to the plan. */
export interface LimitsChange {
  before: HeldLimits;
  after: HeldLimits;
  /** UpdateUser's reset_limits, by API name (max_keys, …). */
  reset?: readonly string[];
}

/** A limit by its API name, as UpdateUser's limits and reset_limits name it. */
type LimitName = "max_keys" | "max_rate_limit" | "can_create_admin_keys" | "available_scopes";

/** What a user who does not exist yet holds: nothing, so every limit a new user gets is given. */
const NOTHING: HeldLimits = { maxKeys: 0, maxRateLimitPerMinute: 0, canCreateAdminKeys: false, keepsAdminScopes: false, heldScopes: [] };

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

/**
 * A new user's limits are all given by the caller: within its own, so a user added without
 * limits (the plan's) by a capped caller is refused, naming the limit to set.
 */
export function mayAddUser(actor: Actor, role: UserRole, limits: HeldLimits): Decision {
  return firstRefusal(
    () => managesUsers(actor),
    () => roleWithinOwn(actor, role),
    () => limitsWithinOwn(actor, { before: NOTHING, after: limits }),
  );
}

export function mayChangeUser(actor: Actor, target: UserTarget, change: { role?: UserRole; limits?: LimitsChange }): Decision {
  return firstRefusal(
    () => managesUsers(actor),
    () => outranked(actor, target),
    () => roleWithinOwn(actor, change.role),
    () => (target.id === actor.userId ? mayChangeOwnUser(actor, change) : change.limits ? limitsWithinOwn(actor, change.limits) : ALLOWED),
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
  const { before, after } = change.limits;
  const raised = givenBeyond(before, before, after);
  if (raised !== undefined) {
    return refuse("OWN_LIMITS_RAISED", "you cannot raise your own limits; another owner or admin can", { field: fieldOf(raised, change.limits) });
  }
  const kept = new Set(change.limits.after.heldScopes);
  // platform:admin is no limit's to take: the operator keeps it whatever its user's limits say.
  const lost = [...actor.scopes].find((scope) => scope !== PLATFORM_ADMIN && !kept.has(scope));
  if (lost === undefined) return ALLOWED;
  const field = !change.limits.after.keepsAdminScopes && ADMIN_SCOPES.includes(lost) ? "limits.can_create_admin_keys" : "limits.available_scopes";
  return refuse("OWN_RIGHTS_IN_USE", `that would take ${lost} from your own user while your key is using it`, { field, scope: lost });
}

/**
 * What a caller gives another user's limits stays within its own: a limit widened to a value the
 * caller does not hold itself is refused. Narrowing is always allowed, also of a user already
 * above the caller in another limit.
 */
function limitsWithinOwn(actor: Actor, change: LimitsChange): Decision {
  const own = actor.limits;
  const given = givenBeyond(own, change.before, change.after);
  if (given === undefined) return ALLOWED;
  const field = fieldOf(given, change);
  const yours = `more than you hold yourself (${OWN_LIMIT[given](own)})`;
  const message =
    field === "reset_limits"
      ? `handing ${given} back to the plan would give the user ${yours}; set limits.${given} within that instead`
      : `the user would get ${yours}; a caller grants only what it holds: set limits.${given} within that`;
  return refuse("LIMITS_ABOVE_OWN", message, { field });
}

/** The caller's own value of each limit, for the refusal. */
const OWN_LIMIT: Record<LimitName, (own: HeldLimits) => string> = {
  max_keys: (own) => `${own.maxKeys} keys`,
  max_rate_limit: (own) => `${own.maxRateLimitPerMinute} requests per minute`,
  can_create_admin_keys: () => "no admin keys",
  available_scopes: (own) => `the scopes ${own.heldScopes.join(" ") || "none"}`,
};

/** The request field a limit came from: reset_limits when the change handed it back to the plan. */
const fieldOf = (name: LimitName, change: LimitsChange): string => (change.reset?.includes(name) ? "reset_limits" : `limits.${name}`);

/**
 * The first limit (in request order) that `after` widens past `before` to a value `held` does not
 * have; undefined when none. With `held` = `before` it is the first limit the change raises.
 */
function givenBeyond(held: HeldLimits, before: HeldLimits, after: HeldLimits): LimitName | undefined {
  const widened = (of: (limits: HeldLimits) => number) => of(after) > of(before) && of(after) > of(held);
  if (widened((limits) => limits.maxKeys)) return "max_keys";
  if (widened((limits) => limits.maxRateLimitPerMinute)) return "max_rate_limit";
  const turnedOn = (of: (limits: HeldLimits) => boolean) => of(after) && !of(before) && !of(held);
  if (turnedOn((limits) => limits.keepsAdminScopes) || turnedOn((limits) => limits.canCreateAdminKeys)) return "can_create_admin_keys";
  const had = new Set(before.heldScopes);
  const holds = new Set(held.heldScopes);
  if (after.heldScopes.some((scope) => !had.has(scope) && !holds.has(scope))) return "available_scopes";
  return undefined;
}
