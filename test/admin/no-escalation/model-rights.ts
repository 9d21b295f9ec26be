import { Code } from "@connectrpc/connect";
import { ADMIN_READ, ADMIN_WRITE, CATALOG, LIMIT_NAMES, perMinute, PLATFORM_ADMIN, RANK, type LimitName, type Limits, type ModelKey, type ModelOrganization, type ModelState, type ModelUser, type Person, type PlanBounds, type RateRequest, type Role } from "./model.js";

/** What users and keys may do in the model: their limits and rights, who a secret makes the caller, and why a call may be refused. */

/** Why the contract refuses a call. */
export interface Reason {
  code: Code;
  why: string;
  /** The contract does not decide this refusal: keygate may refuse or allow. */
  lenient?: boolean;
}

const aRole = (role: Role): string => (role === "admin" ? "an admin" : `a ${role}`);

export const organizationOf = (state: ModelState, id: string): ModelOrganization => state.organizations.find((o) => o.id === id)!;
export const userOf = (state: ModelState, id: string): ModelUser | undefined => state.users.find((u) => u.id === id && !u.removed);
export const keyOf = (state: ModelState, id: string): ModelKey | undefined => state.keys.find((k) => k.id === id && !k.deleted);
export const personOf = (state: ModelState, label: string): Person => state.people.find((p) => p.label === label)!;

/** A user's limits within the plan: their own values only ever narrow it. */
export function effectiveLimits(plan: PlanBounds, limits: Limits) {
  const canCreateAdminKeys = plan.canCreateAdminKeys && limits.canCreateAdminKeys !== false;
  const listed = limits.availableScopes && new Set(limits.availableScopes);
  return {
    maxKeys: Math.min(limits.maxKeys ?? plan.maxKeysPerUser, plan.maxKeysPerUser),
    maxRateLimitPerMinute: Math.min(limits.maxRateLimitPerMinute ?? plan.maxRateLimitPerMinute, plan.maxRateLimitPerMinute),
    canCreateAdminKeys,
    availableScopes: CATALOG.filter((s) => (!listed || listed.has(s)) && (canCreateAdminKeys || (s !== ADMIN_READ && s !== ADMIN_WRITE))),
  };
}

export const limitsOf = (state: ModelState, user: ModelUser) => effectiveLimits(organizationOf(state, user.organizationId).plan, user.limits);

/** The rate bound of a key's owner; a removed owner's keys are bound by the plan. */
export function rateBound(state: ModelState, organizationId: string, ownerUserId: string): number {
  const owner = userOf(state, ownerUserId);
  return owner ? limitsOf(state, owner).maxRateLimitPerMinute : organizationOf(state, organizationId).plan.maxRateLimitPerMinute;
}

/** Keys holding a slot of their owner's max_keys: every key not revoked, disabled ones too. */
export const slotsHeld = (state: ModelState, userId: string): number =>
  state.keys.filter((k) => !k.deleted && !k.revoked && k.ownerUserId === userId).length;

const isOperatorKey = (state: ModelState, key: ModelKey): boolean =>
  organizationOf(state, key.organizationId).kind === "platform" && key.scopes.includes(PLATFORM_ADMIN);

/**
 * The rights of a key: its scopes bounded by its owner's limits. platform:admin, in no catalog,
 * is an operator key's own and no user limit names it.
 */
export function rightsOf(state: ModelState, key: ModelKey): Set<string> {
  const owner = userOf(state, key.ownerUserId);
  const available = new Set(owner ? limitsOf(state, owner).availableScopes : []);
  return new Set(key.scopes.filter((s) => available.has(s) || (s === PLATFORM_ADMIN && isOperatorKey(state, key))));
}

/** Where a secret works as a credential: Check and TestKey (a superseded one in its grace too). */
export function secretWorks(state: ModelState, secret: string): ModelKey | undefined {
  const key = keyOf(state, state.secretKey.get(secret) ?? "");
  if (!key || key.revoked || !key.isActive) return undefined;
  if (key.current === secret) return key;
  return key.previous?.secret === secret && key.previous.until > state.now ? key : undefined;
}

export interface Caller {
  key: ModelKey;
  me: ModelUser;
  rights: Set<string>;
  operator: boolean;
}

export function authenticate(state: ModelState, secret: string): Caller | Reason {
  const key = secretWorks(state, secret);
  if (!key) return { code: Code.Unauthenticated, why: "the secret is not a working key's" };
  if (key.current !== secret) return { code: Code.Unauthenticated, why: "a superseded secret works for Check and TestKey only" };
  const me = userOf(state, key.ownerUserId);
  if (!me) return { code: Code.Unauthenticated, why: "the key's owner was removed" };
  return { key, me, rights: rightsOf(state, key), operator: isOperatorKey(state, key) && rightsOf(state, key).has(PLATFORM_ADMIN) };
}

/** Acting on a key: its scopes within mine, its owner ranking no higher than me (a member: mine only). */
export function mayActOn(state: ModelState, caller: Caller, target: ModelKey): Reason[] {
  const reasons: Reason[] = [];
  const beyond = target.scopes.filter((s) => !caller.rights.has(s));
  if (beyond.length > 0) reasons.push({ code: Code.PermissionDenied, why: `the key holds ${beyond.join(" ")}, beyond the caller's rights` });
  if (target.scopes.includes(PLATFORM_ADMIN)) {
    // "managed only by platform operators, never through an organization's admin API": whether an
    // operator may, through KeyAdminService, is not decided; nobody else may.
    reasons.push({ code: Code.PermissionDenied, why: "platform:admin keys are not managed through the admin API", lenient: caller.operator });
  }
  const owner = userOf(state, target.ownerUserId);
  if (!owner) {
    // A removed user is of no rank: an owner acts on all keys and a member on its own only, so an
    // owner may and a member may not; whether an admin may is not decided.
    if (caller.me.role !== "owner") reasons.push({ code: Code.PermissionDenied, why: "the key's owner was removed", lenient: caller.me.role === "admin" });
  } else if (caller.me.role === "member" ? owner.id !== caller.me.id : RANK[owner.role] > RANK[caller.me.role]) {
    reasons.push({ code: Code.PermissionDenied, why: `the key's owner, ${owner.label} (${owner.role}), is not for ${aRole(caller.me.role)} to act on` });
  }
  return reasons;
}

/** Naming an owner: only myself, or as admin or owner a user ranking no higher. */
export function mayName(state: ModelState, caller: Caller, ownerUserId: string): { owner?: ModelUser; reasons: Reason[] } {
  const owner = userOf(state, ownerUserId);
  if (!owner || owner.organizationId !== caller.me.organizationId) {
    const codes = caller.me.role === "member" ? [Code.InvalidArgument, Code.PermissionDenied] : [Code.InvalidArgument];
    return { reasons: codes.map((code) => ({ code, why: "owner_user_id is no user of the organization" })) };
  }
  if (owner.id === caller.me.id) return { owner, reasons: [] };
  if (caller.me.role === "member" || RANK[owner.role] > RANK[caller.me.role]) {
    return { owner, reasons: [{ code: Code.PermissionDenied, why: `${aRole(caller.me.role)} may not name ${owner.label} (${owner.role}) as owner` }] };
  }
  return { owner, reasons: [] };
}

/** Granting scopes: only ones the caller holds, never platform:admin; and ones the owner may hold. */
export function mayGrant(caller: Caller, scopes: readonly string[], owner: ModelUser | undefined, state: ModelState): Reason[] {
  const reasons: Reason[] = [];
  // platform:admin is in no catalog: refused as a grant, or as a scope no key may be given.
  if (scopes.includes(PLATFORM_ADMIN)) reasons.push(...[Code.PermissionDenied, Code.InvalidArgument].map((code) => ({ code, why: "platform:admin is never granted" })));
  const beyond = scopes.filter((s) => s !== PLATFORM_ADMIN && !caller.rights.has(s));
  if (beyond.length > 0) reasons.push({ code: Code.PermissionDenied, why: `grants ${beyond.join(" ")}, beyond the caller's rights` });
  if (owner) {
    const available = new Set(limitsOf(state, owner).availableScopes);
    const unavailable = scopes.filter((s) => s !== PLATFORM_ADMIN && !available.has(s));
    if (unavailable.length > 0) reasons.push({ code: Code.PermissionDenied, why: `${owner.label} may not hold ${unavailable.join(" ")}` });
  }
  return reasons;
}

export function rateReasons(rate: RateRequest | undefined, bound: number): Reason[] {
  if (rate === undefined) return [];
  // "rate_limit: 0 never means unlimited where a bound applies": refused, or bounded.
  if (rate.limit === 0) return [{ code: Code.InvalidArgument, why: "rate_limit 0", lenient: true }];
  if (perMinute(rate.limit, rate.period) > bound) return [{ code: Code.InvalidArgument, why: `rate ${rate.limit}/${rate.period} beyond the owner's ${bound}/minute` }];
  return [];
}

/** How a user's effective limits would change: raised in any way, lowered in any way. */
export function limitChange(state: ModelState, user: ModelUser, after: Limits): { raised: string[]; lowered: string[] } {
  const plan = organizationOf(state, user.organizationId).plan;
  const [b, a] = [effectiveLimits(plan, user.limits), effectiveLimits(plan, after)];
  const raised: string[] = [];
  const lowered: string[] = [];
  const compare = (name: string, before: number, now: number) => (now > before ? raised : now < before ? lowered : []).push(name);
  compare("max_keys", b.maxKeys, a.maxKeys);
  compare("max_rate_limit", b.maxRateLimitPerMinute, a.maxRateLimitPerMinute);
  compare("can_create_admin_keys", Number(b.canCreateAdminKeys), Number(a.canCreateAdminKeys));
  if (a.availableScopes.some((s) => !b.availableScopes.includes(s))) raised.push("available_scopes");
  if (b.availableScopes.some((s) => !a.availableScopes.includes(s))) lowered.push("available_scopes");
  return { raised, lowered };
}

/**
 * "A caller may only grant scopes it holds itself", limits too: the limits a user would hold
 * beyond the caller's own, where the call gives them (every one on a new user; one raised on an
 * existing user). Narrowing is always allowed, even where the result is still above the caller's.
 */
export function limitsBeyondOwn(state: ModelState, caller: ModelUser, before: Limits | undefined, after: Limits): Reason[] {
  const plan = organizationOf(state, caller.organizationId).plan;
  const own = limitsOf(state, caller);
  const was = before === undefined ? undefined : effectiveLimits(plan, before);
  const now = effectiveLimits(plan, after);
  const beyond: string[] = [];
  if (now.maxKeys > own.maxKeys && (was === undefined || now.maxKeys > was.maxKeys)) beyond.push("max_keys");
  if (now.maxRateLimitPerMinute > own.maxRateLimitPerMinute && (was === undefined || now.maxRateLimitPerMinute > was.maxRateLimitPerMinute)) beyond.push("max_rate_limit");
  if (now.canCreateAdminKeys && !own.canCreateAdminKeys && (was === undefined || !was.canCreateAdminKeys)) beyond.push("can_create_admin_keys");
  if (now.availableScopes.some((s) => !own.availableScopes.includes(s) && (was === undefined || !was.availableScopes.includes(s)))) beyond.push("available_scopes");
  return beyond.length === 0 ? [] : [{ code: Code.PermissionDenied, why: `gives ${beyond.join(", ")} beyond the caller's own` }];
}

/** A rate on another user's key beyond the caller's own bound: the caller would grant what it lacks. */
export function rateBeyondOwn(state: ModelState, caller: ModelUser, ownerUserId: string | undefined, rate: RateRequest | undefined): Reason[] {
  if (rate === undefined || rate.limit === 0 || ownerUserId === undefined || ownerUserId === caller.id) return [];
  const own = limitsOf(state, caller).maxRateLimitPerMinute;
  return perMinute(rate.limit, rate.period) > own ? [{ code: Code.PermissionDenied, why: `rate beyond the caller's own ${own}/minute` }] : [];
}

export function patchedLimits(limits: Limits, set: Limits, reset: readonly LimitName[]): Limits {
  const next: Limits = { ...limits, ...set };
  for (const name of reset) delete next[LIMIT_NAMES[name]];
  return next;
}
