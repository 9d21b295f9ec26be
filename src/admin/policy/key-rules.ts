import { ADMIN_SCOPES, ADMIN_WRITE } from "../../model/scopes.js";
import { rateWithin } from "../../store/key-bound.js";
import type { KeyRateLimit, UserRole } from "../../model/records.js";
import { PLATFORM_ADMIN } from "../../model/platform.js";
import { RANK, rankOf, type Actor } from "./actor.js";
import { ALLOWED, firstRefusal, refuse, type Decision } from "./decision.js";
import type { RateLimitBound } from "./effective-limits.js";

/** What a caller may do to an existing key (reads need only the RPC's scope). */
export type KeyAction = "update" | "regenerate" | "revoke" | "delete" | "reveal";

/** What a platform operator may do to an operator key through OperatorService. */
export type OperatorKeyAction = Extract<KeyAction, "regenerate" | "revoke">;

/** The key acted on, as the rules weigh it. */
export interface KeyTarget {
  ownerUserId: string;
  /** The owner's role; null when the owner was removed (the key then ranks as a member's). */
  ownerRole: UserRole | null;
  scopes: readonly string[];
}

/** The user a key is for, named by owner_user_id. */
export interface NamedOwner {
  id: string;
  role: UserRole;
}

const VERB: Record<KeyAction, string> = {
  update: "change",
  regenerate: "regenerate",
  revoke: "revoke",
  delete: "delete",
  reveal: "see the secret of",
};

/**
 * Acting on a key needs all three: the key is no platform:admin key (those are managed only by
 * platform operators, through OperatorService, never through the admin API); its scopes are a
 * subset of the caller's, so nobody gains a scope by rotating or re-owning a broader key; and its
 * owner ranks no higher than the caller's user (a member acts on its own keys only, an admin on
 * admins' and members' keys, an owner on all).
 */
export function mayActOnKey(actor: Actor, action: KeyAction, key: KeyTarget): Decision {
  const field = action === "reveal" ? "show_key_value" : "id";
  const verb = VERB[action];
  return firstRefusal(
    () =>
      key.scopes.includes(PLATFORM_ADMIN)
        ? refuse("PLATFORM_KEY", `you cannot ${verb} a ${PLATFORM_ADMIN} key through the admin API; platform operators rotate and revoke those with OperatorService`, { field, scope: PLATFORM_ADMIN })
        : ALLOWED,
    () => withinReach(actor, verb, key, field),
  );
}

/**
 * OperatorService's RegenerateOperatorKey and RevokeOperatorKey: a platform operator, on an
 * operator key only (any other key has KeyAdminService), and then within reach like any key, so
 * an operator whose own user was narrowed gains nothing by rotating a broader operator key.
 */
export function mayActOnOperatorKey(actor: Actor, action: OperatorKeyAction, key: KeyTarget): Decision {
  const verb = VERB[action];
  return firstRefusal(
    () => (actor.operator ? ALLOWED : refuse("NOT_PLATFORM_OPERATOR", `only a platform operator may ${verb} an operator key`)),
    () =>
      key.scopes.includes(PLATFORM_ADMIN)
        ? ALLOWED
        : refuse("NOT_OPERATOR_KEY", `the key holds no ${PLATFORM_ADMIN}, so it is no operator key; ${verb} it through KeyAdminService`, { field: "id" }),
    () => withinReach(actor, verb, key, "id"),
  );
}

/** The key's scopes are all the caller's, and its owner ranks no higher (a member: itself only). */
function withinReach(actor: Actor, verb: string, key: KeyTarget, field: string): Decision {
  const beyond = key.scopes.filter((scope) => !actor.scopes.has(scope));
  return firstRefusal(
    () =>
      beyond.length > 0
        ? refuse("KEY_SCOPES_NOT_HELD", `you cannot ${verb} a key holding ${beyond.join(", ")}, which your own key does not`, { field, scope: beyond[0]! })
        : ALLOWED,
    () =>
      rankOf(key.ownerRole) > RANK[actor.role]
        ? refuse("KEY_OWNER_OUTRANKS", `you cannot ${verb} a key of an ${key.ownerRole}, who ranks above you (${actor.role})`, { field })
        : ALLOWED,
    () =>
      actor.role === "member" && key.ownerUserId !== actor.userId
        ? refuse("NOT_OWN_KEY", `you cannot ${verb} another user's key: a member acts on its own keys only`, { field })
        : ALLOWED,
  );
}

/** Before any key is read: only an admin:write caller, and never a platform operator, sees a secret. */
export function mayAskForSecret(actor: Actor): Decision {
  const field = "show_key_value";
  if (actor.operator) return refuse("SECRET_NOT_SHOWN", "a platform operator never sees a secret", { field });
  if (!actor.scopes.has(ADMIN_WRITE)) return refuse("SECRET_NOT_SHOWN", `needs the ${ADMIN_WRITE} scope`, { field, scope: ADMIN_WRITE });
  return ALLOWED;
}

/**
 * owner_user_id may name the caller's own user, or, for an admin or owner, a user ranking no
 * higher: a member can neither act as the owner nor spend another user's key count or rate.
 */
export function mayNameOwner(actor: Actor, owner: NamedOwner, field = "owner_user_id"): Decision {
  if (owner.id === actor.userId) return ALLOWED;
  if (actor.role === "member") return refuse("OWNER_NOT_NAMEABLE", "a member may give keys only to itself", { field });
  if (RANK[owner.role] > RANK[actor.role]) {
    return refuse("OWNER_NOT_NAMEABLE", `user ${owner.id} is an ${owner.role}, who ranks above you (${actor.role})`, { field });
  }
  return ALLOWED;
}

/**
 * A caller grants only scopes it acts with itself, admin scopes only where its user may create
 * admin keys, and platform:admin never.
 */
export function mayGrantScopes(actor: Actor, scopes: readonly string[], field = "scopes"): Decision {
  const platform = scopes.find((scope) => scope === PLATFORM_ADMIN);
  if (platform !== undefined) {
    return refuse("SCOPE_NOT_GRANTABLE", `${platform} is only ever held by keys made with keygate bootstrap --operator`, { field, scope: platform });
  }
  const notHeld = scopes.find((scope) => !actor.scopes.has(scope));
  if (notHeld !== undefined) return refuse("SCOPE_NOT_GRANTABLE", `you cannot grant ${notHeld}, which your own key does not hold`, { field, scope: notHeld });
  const admin = scopes.find((scope) => ADMIN_SCOPES.includes(scope));
  if (admin !== undefined && !actor.limits.adminKeys.allowed) {
    return refuse("ADMIN_KEYS_NOT_ALLOWED", `${actor.limits.adminKeys.deniedBy} does not allow creating keys with ${admin}`, { field, scope: admin });
  }
  return ALLOWED;
}

/**
 * The rate bound of a key the caller gives to `owner`: the owner's (their limits, else the plan),
 * and for another user's key also the caller's own, whichever is tighter. The caller holds the
 * secret of a key it creates or regenerates, so a faster key for a "puppet" user would be a
 * faster key for the caller. A rate left out or 0 gets this bound.
 */
export function keyRateBound(actor: Actor, owner: { id: string }, ownerBound: RateLimitBound): RateLimitBound {
  if (owner.id === actor.userId || ownerBound.maxPerMinute <= actor.limits.maxRateLimitPerMinute) return ownerBound;
  return actor.limits.rateLimitBound;
}

/** A rate the caller sets on another user's key stays within the caller's own bound (keyRateBound). */
export function mayGiveRate(actor: Actor, owner: { id: string }, rateLimit: KeyRateLimit, field = "rate_limit"): Decision {
  const own = actor.limits.rateLimitBound;
  const { limit, period } = rateLimit;
  if (owner.id === actor.userId || rateWithin(rateLimit, own.maxPerMinute)) return ALLOWED;
  return refuse(
    "RATE_ABOVE_OWN",
    `${limit} per ${period} is above your own maximum of ${own.maxPerMinute} requests per minute (${own.whose} limit): a key you give another user gets no faster than yours`,
    { field },
  );
}

/** A key's owner holds only scopes their own limits allow, whoever gives the key. */
export function ownerMayHold(owner: { id: string; availableScopes: readonly string[] }, scopes: readonly string[], field = "scopes"): Decision {
  const available = new Set(owner.availableScopes);
  const denied = scopes.find((scope) => !available.has(scope));
  if (denied === undefined) return ALLOWED;
  return refuse("OWNER_MAY_NOT_HOLD", `user ${owner.id} may not hold keys with ${denied} (see their limits)`, { field, scope: denied });
}

/** Reads of another organization (organization_id): platform operators only. */
export function mayReadOrganization(actor: Actor, ownOrganizationId: string, organizationId: string): Decision {
  if (organizationId === "" || organizationId === ownOrganizationId || actor.operator) return ALLOWED;
  return refuse("OTHER_ORGANIZATION", "your key acts only inside its own organization", { field: "organization_id" });
}
