import { Code } from "@connectrpc/connect";

/**
 * A reference model of the contract's "Who may do what", written from the contract's text and not
 * from keygate's code, for the property that no sequence of admin calls escalates. It knows the
 * organizations, users, keys and secrets a sequence made, who (which person) learned which
 * secret, and decides for each call whether the contract allows it; `apply` then changes the
 * model the way an allowed call must change keygate.
 *
 * Where the contract leaves a case open and neither answer gives anyone more than they had, the
 * verdict is "either" and the model follows what keygate did (the invariants still hold it to
 * account). Those cases are marked `lenient` below.
 */

export type Role = "owner" | "admin" | "member";
export const RANK: Readonly<Record<Role, number>> = { member: 0, admin: 1, owner: 2 };
const aRole = (role: Role): string => (role === "admin" ? "an admin" : `a ${role}`);

export const PLATFORM_ADMIN = "platform:admin";
export const ADMIN_READ = "admin:read";
export const ADMIN_WRITE = "admin:write";
/** The contract's default catalog; platform:admin is in no catalog. */
export const CATALOG: readonly string[] = [
  "machines:read",
  "machines:write",
  "machines:delete",
  "tags:read",
  "tags:write",
  "tags:delete",
  "components:read",
  "components:write",
  "documents:read",
  "documents:write",
  "data:ingest",
  "data:export",
  ADMIN_READ,
  ADMIN_WRITE,
];

export type Period = "second" | "minute" | "hour" | "day";
const SECONDS: Readonly<Record<Period, number>> = { second: 1, minute: 60, hour: 3600, day: 86400 };
export const perMinute = (limit: number, period: Period): number => (limit * 60) / SECONDS[period];

/** What a plan allows each user (configuration; the model is given it). */
export interface PlanBounds {
  maxKeysPerUser: number;
  maxRateLimitPerMinute: number;
  canCreateAdminKeys: boolean;
}

export interface Limits {
  maxKeys?: number;
  maxRateLimitPerMinute?: number;
  availableScopes?: string[];
  canCreateAdminKeys?: boolean;
}
export const LIMIT_NAMES = { max_keys: "maxKeys", max_rate_limit: "maxRateLimitPerMinute", available_scopes: "availableScopes", can_create_admin_keys: "canCreateAdminKeys" } as const;
export type LimitName = keyof typeof LIMIT_NAMES;

export interface ModelOrganization {
  id: string;
  kind: "tenant" | "platform";
  plan: PlanBounds;
}

export interface ModelUser {
  id: string;
  organizationId: string;
  label: string;
  role: Role;
  limits: Limits;
  removed: boolean;
  /** Never acted on by a generated call: it belongs to the invariant's observer. */
  observer: boolean;
}

export interface ModelKey {
  id: string;
  organizationId: string;
  label: string;
  ownerUserId: string;
  scopes: string[];
  keyType: "user" | "shared";
  isActive: boolean;
  revoked: boolean;
  deleted: boolean;
  recoverable: boolean;
  /** The highest rate (per minute) the key may have; Infinity only for keys bootstrap made without one. */
  rateCeiling: number;
  current: string;
  /** The secret RegenerateKey superseded, while its grace period lasts. */
  previous: { secret: string; until: number } | null;
  observer: boolean;
}

/**
 * A person: the user they are, the secrets they learned (in the order they learned them), and
 * what they were ever entitled to wield: a rank and scopes, raised only by someone entitled to.
 */
export interface Person {
  label: string;
  userId: string;
  organizationId: string;
  knows: string[];
  rankCeiling: number;
  scopeCeiling: Set<string>;
}

export interface ModelState {
  now: number;
  organizations: ModelOrganization[];
  users: ModelUser[];
  keys: ModelKey[];
  people: Person[];
  /** Every secret ever issued, to the key it opened. */
  secretKey: Map<string, string>;
}

export interface RateRequest {
  limit: number;
  period: Period;
}

/** A call with its references resolved to ids and secrets. */
export type Call =
  | { method: "createKey"; person: string; secret: string; scopes: string[]; ownerUserId?: string; rate?: RateRequest; keyType: "user" | "shared"; recoverable: boolean; isActive?: boolean }
  | { method: "updateKey"; person: string; secret: string; keyId: string; scopes?: string[]; ownerUserId?: string; rate?: RateRequest; isActive?: boolean }
  | { method: "regenerateKey"; person: string; secret: string; keyId: string; graceSeconds: number }
  | { method: "revokeKey" | "deleteKey" | "revealKey"; person: string; secret: string; keyId: string }
  | { method: "addUser"; person: string; secret: string; role?: Role; limits: Limits }
  | { method: "updateUser"; person: string; secret: string; userId: string; role?: Role; limits: Limits; reset: LimitName[] }
  | { method: "removeUser"; person: string; secret: string; userId: string }
  | { method: "listOtherOrganization"; person: string; secret: string; organizationId: string }
  | { method: "getMyLimits"; secret: string }
  | { method: "advanceClock"; ms: number };

export type Verdict =
  | { kind: "allow" }
  /** Refused: with one of these codes. */
  | { kind: "refuse"; codes: Set<Code>; why: string[] }
  /** The contract leaves it open: allowed, or refused with one of these codes. */
  | { kind: "either"; codes: Set<Code>; why: string[] };

interface Reason {
  code: Code;
  why: string;
  /** The contract does not decide this refusal: keygate may refuse or allow. */
  lenient?: boolean;
}

const READ_METHODS = new Set<Call["method"]>(["revealKey", "listOtherOrganization", "getMyLimits"]);

// ---- what users and keys may do -------------------------------------------------------------

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
function rateBound(state: ModelState, organizationId: string, ownerUserId: string): number {
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

interface Caller {
  key: ModelKey;
  me: ModelUser;
  rights: Set<string>;
  operator: boolean;
}

function authenticate(state: ModelState, secret: string): Caller | Reason {
  const key = secretWorks(state, secret);
  if (!key) return { code: Code.Unauthenticated, why: "the secret is not a working key's" };
  if (key.current !== secret) return { code: Code.Unauthenticated, why: "a superseded secret works for Check and TestKey only" };
  const me = userOf(state, key.ownerUserId);
  if (!me) return { code: Code.Unauthenticated, why: "the key's owner was removed" };
  return { key, me, rights: rightsOf(state, key), operator: isOperatorKey(state, key) && rightsOf(state, key).has(PLATFORM_ADMIN) };
}

/** Acting on a key: its scopes within mine, its owner ranking no higher than me (a member: mine only). */
function mayActOn(state: ModelState, caller: Caller, target: ModelKey): Reason[] {
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
function mayName(state: ModelState, caller: Caller, ownerUserId: string): { owner?: ModelUser; reasons: Reason[] } {
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
function mayGrant(caller: Caller, scopes: readonly string[], owner: ModelUser | undefined, state: ModelState): Reason[] {
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

function rateReasons(rate: RateRequest | undefined, bound: number): Reason[] {
  if (rate === undefined) return [];
  // "rate_limit: 0 never means unlimited where a bound applies": refused, or bounded.
  if (rate.limit === 0) return [{ code: Code.InvalidArgument, why: "rate_limit 0", lenient: true }];
  if (perMinute(rate.limit, rate.period) > bound) return [{ code: Code.InvalidArgument, why: `rate ${rate.limit}/${rate.period} beyond the owner's ${bound}/minute` }];
  return [];
}

/** How a user's effective limits would change: raised in any way, lowered in any way. */
function limitChange(state: ModelState, user: ModelUser, after: Limits): { raised: string[]; lowered: string[] } {
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
function limitsBeyondOwn(state: ModelState, caller: ModelUser, before: Limits | undefined, after: Limits): Reason[] {
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
function rateBeyondOwn(state: ModelState, caller: ModelUser, ownerUserId: string | undefined, rate: RateRequest | undefined): Reason[] {
  if (rate === undefined || rate.limit === 0 || ownerUserId === undefined || ownerUserId === caller.id) return [];
  const own = limitsOf(state, caller).maxRateLimitPerMinute;
  return perMinute(rate.limit, rate.period) > own ? [{ code: Code.PermissionDenied, why: `rate beyond the caller's own ${own}/minute` }] : [];
}

export function patchedLimits(limits: Limits, set: Limits, reset: readonly LimitName[]): Limits {
  const next: Limits = { ...limits, ...set };
  for (const name of reset) delete next[LIMIT_NAMES[name]];
  return next;
}

const notFound = (what: string): Reason => ({ code: Code.NotFound, why: `${what} is not in the caller's organization` });
const userUnknown = (): Reason[] => [
  { code: Code.InvalidArgument, why: "no such user in the organization" },
  { code: Code.NotFound, why: "no such user in the organization" },
];

/** The target key, when it is in the caller's organization (another organization's is "not found"). */
function targetKey(state: ModelState, caller: Caller, keyId: string): ModelKey | undefined {
  const key = keyOf(state, keyId);
  return key && key.organizationId === caller.key.organizationId ? key : undefined;
}

function reasonsOf(state: ModelState, call: Exclude<Call, { method: "advanceClock" }>, caller: Caller): Reason[] {
  switch (call.method) {
    case "getMyLimits":
      return [];
    case "listOtherOrganization":
      return caller.operator ? [] : [Code.PermissionDenied, Code.NotFound].map((code) => ({ code, why: "only a platform operator reads another organization" }));
    case "createKey": {
      const named = call.ownerUserId === undefined ? { owner: caller.me, reasons: [] } : mayName(state, caller, call.ownerUserId);
      const reasons = [...named.reasons, ...mayGrant(caller, call.scopes, named.owner, state)];
      if (named.owner) {
        reasons.push(...rateReasons(call.rate, limitsOf(state, named.owner).maxRateLimitPerMinute));
        reasons.push(...rateBeyondOwn(state, caller.me, named.owner.id, call.rate));
        if (slotsHeld(state, named.owner.id) >= limitsOf(state, named.owner).maxKeys) {
          reasons.push({ code: Code.ResourceExhausted, why: `${named.owner.label} holds their max_keys` });
        }
      }
      return reasons;
    }
    case "updateKey": {
      const named = call.ownerUserId === undefined ? undefined : mayName(state, caller, call.ownerUserId);
      const reasons = [...(named?.reasons ?? [])];
      if (call.scopes) reasons.push(...mayGrant(caller, call.scopes, undefined, state));
      const key = targetKey(state, caller, call.keyId);
      if (!key) return [...reasons, notFound("the key")];
      reasons.push(...mayActOn(state, caller, key));
      if (key.revoked) reasons.push({ code: Code.InvalidArgument, why: "the key is revoked" }, { code: Code.FailedPrecondition, why: "the key is revoked" });
      const owner = named ? named.owner : userOf(state, key.ownerUserId);
      if (named && !named.owner) return reasons;
      if (owner && (call.scopes || named)) {
        const available = new Set(limitsOf(state, owner).availableScopes);
        const unavailable = (call.scopes ?? key.scopes).filter((s) => s !== PLATFORM_ADMIN && !available.has(s));
        if (unavailable.length > 0) reasons.push({ code: Code.PermissionDenied, why: `${owner.label} may not hold ${unavailable.join(" ")}` });
      }
      if (call.isActive === true && !owner) reasons.push({ code: Code.InvalidArgument, why: "the key's owner was removed" });
      const bound = rateBound(state, key.organizationId, owner?.id ?? key.ownerUserId);
      reasons.push(...rateReasons(call.rate, bound));
      reasons.push(...rateBeyondOwn(state, caller.me, owner?.id ?? key.ownerUserId, call.rate));
      if (call.rate === undefined && named && key.rateCeiling > bound) {
        reasons.push({ code: Code.InvalidArgument, why: "the key's rate is beyond the new owner's bound (refused, or bounded)", lenient: true });
      }
      if (owner && owner.id !== key.ownerUserId && !key.revoked && slotsHeld(state, owner.id) >= limitsOf(state, owner).maxKeys) {
        reasons.push({ code: Code.ResourceExhausted, why: `${owner.label} holds their max_keys` });
      }
      return reasons;
    }
    case "regenerateKey":
    case "revokeKey":
    case "deleteKey":
    case "revealKey": {
      const reasons: Reason[] = [];
      if (call.method === "revealKey") {
        // Issue 8's rules (tested in recoverable-keys.suite.ts); the contract leaves them open, and
        // revealing a key one may act on gives nobody more than they hold.
        if (caller.operator) reasons.push({ code: Code.PermissionDenied, why: "a platform operator never sees a secret", lenient: true });
        if (!caller.rights.has(ADMIN_WRITE)) reasons.push({ code: Code.PermissionDenied, why: "revealing needs admin:write", lenient: true });
      }
      const key = targetKey(state, caller, call.keyId);
      if (!key) return [...reasons, notFound("the key")];
      reasons.push(...mayActOn(state, caller, key));
      if (call.method === "regenerateKey" && key.revoked) {
        reasons.push({ code: Code.InvalidArgument, why: "the key is revoked" }, { code: Code.FailedPrecondition, why: "the key is revoked" });
      }
      if (call.method === "revokeKey" && key.revoked) {
        reasons.push(...[Code.InvalidArgument, Code.FailedPrecondition].map((code) => ({ code, why: "the key is already revoked", lenient: true })));
      }
      if (call.method === "revealKey" && (!key.recoverable || key.revoked)) reasons.push({ code: Code.FailedPrecondition, why: "the key is not recoverable" });
      return reasons;
    }
    case "addUser": {
      if (caller.me.role === "member") return [{ code: Code.PermissionDenied, why: "members manage no users" }];
      if (caller.me.role === "admin" && call.role === "owner") return [{ code: Code.PermissionDenied, why: "an admin makes no owner" }];
      return limitsBeyondOwn(state, caller.me, undefined, call.limits);
    }
    case "updateUser":
    case "removeUser": {
      const reasons: Reason[] = [];
      if (caller.me.role === "member") reasons.push({ code: Code.PermissionDenied, why: "members manage no users" });
      const target = userOf(state, call.userId);
      if (!target || target.organizationId !== caller.me.organizationId) return [...reasons, ...userUnknown()];
      if (caller.me.role === "admin" && target.role === "owner") reasons.push({ code: Code.PermissionDenied, why: "an admin manages no owner" });
      const self = target.id === caller.me.id;
      if (call.method === "removeUser") {
        // Removing yourself gives nobody anything; keygate may refuse it.
        if (self) reasons.push({ code: Code.PermissionDenied, why: "removes the caller's own user", lenient: true }, { code: Code.InvalidArgument, why: "the last owner", lenient: true });
        return reasons;
      }
      if (call.role === "owner" && caller.me.role !== "owner") reasons.push({ code: Code.PermissionDenied, why: "only an owner makes an owner" });
      if (self && call.role && RANK[call.role] > RANK[target.role]) reasons.push({ code: Code.PermissionDenied, why: "raises the caller's own role" });
      if (self && call.role && RANK[call.role] < RANK[target.role]) {
        reasons.push({ code: Code.PermissionDenied, why: "lowers the caller's own role", lenient: true }, { code: Code.InvalidArgument, why: "the last owner", lenient: true });
      }
      if (!self) reasons.push(...limitsBeyondOwn(state, caller.me, target.limits, patchedLimits(target.limits, call.limits, call.reset)));
      if (self) {
        const change = limitChange(state, target, patchedLimits(target.limits, call.limits, call.reset));
        if (change.raised.length > 0) reasons.push({ code: Code.PermissionDenied, why: `raises the caller's own ${change.raised.join(", ")}` });
        if (change.lowered.length > 0) reasons.push({ code: Code.PermissionDenied, why: `lowers the caller's own ${change.lowered.join(", ")}`, lenient: true });
      }
      return reasons;
    }
  }
}

/** What the contract says of this call in this state. */
export function decide(state: ModelState, call: Call): Verdict {
  if (call.method === "advanceClock") return { kind: "allow" };
  const caller = authenticate(state, call.secret);
  if ("why" in caller) return { kind: "refuse", codes: new Set([caller.code]), why: [caller.why] };
  const needed = READ_METHODS.has(call.method) ? [ADMIN_READ, ADMIN_WRITE] : [ADMIN_WRITE];
  if (!needed.some((s) => caller.rights.has(s))) {
    return { kind: "refuse", codes: new Set([Code.PermissionDenied]), why: [`the caller's rights hold no ${needed.join(" or ")}`] };
  }
  const reasons = reasonsOf(state, call, caller);
  if (reasons.length === 0) return { kind: "allow" };
  const codes = new Set(reasons.map((r) => r.code));
  const why = reasons.map((r) => r.why + (r.lenient ? " (open)" : ""));
  return reasons.some((r) => !r.lenient) ? { kind: "refuse", codes, why } : { kind: "either", codes, why };
}

// ---- what an allowed call changes -----------------------------------------------------------

/** What keygate answered an allowed call with, where the model needs it (new ids and secrets). */
export interface Answer {
  keyId?: string;
  userId?: string;
  secret?: string;
  /** RemoveUser: who the removed user's shared keys now belong to. */
  successorUserId?: string;
}

function learn(state: ModelState, personLabel: string, secret: string): void {
  const person = personOf(state, personLabel);
  if (!person.knows.includes(secret)) person.knows.push(secret);
}

/**
 * People who know a secret the key answers to (its current one, or the superseded one in its
 * grace): a change to the key is a change to what they wield.
 */
const knowersOf = (state: ModelState, key: ModelKey): Person[] =>
  state.people.filter((p) => p.knows.includes(key.current) || (key.previous !== null && key.previous.until > state.now && p.knows.includes(key.previous.secret)));

function grantRank(state: ModelState, key: ModelKey, rank: number): void {
  for (const person of knowersOf(state, key)) person.rankCeiling = Math.max(person.rankCeiling, rank);
}

/** Changes the model as the allowed call must have changed keygate. */
export function apply(state: ModelState, call: Call, answer: Answer): void {
  if (call.method === "advanceClock") {
    state.now += call.ms;
    return;
  }
  if (call.method === "getMyLimits" || call.method === "listOtherOrganization") return;
  const caller = authenticate(state, call.secret) as Caller;
  switch (call.method) {
    case "createKey": {
      const owner = call.ownerUserId === undefined ? caller.me : userOf(state, call.ownerUserId)!;
      const bound = limitsOf(state, owner).maxRateLimitPerMinute;
      const key: ModelKey = {
        id: answer.keyId!,
        organizationId: caller.me.organizationId,
        label: `key ${state.keys.length} (by ${call.person})`,
        ownerUserId: owner.id,
        scopes: [...new Set(call.scopes)],
        keyType: call.keyType,
        isActive: call.isActive ?? true,
        revoked: false,
        deleted: false,
        recoverable: call.recoverable,
        rateCeiling: call.rate && call.rate.limit > 0 ? perMinute(call.rate.limit, call.rate.period) : bound,
        current: answer.secret!,
        previous: null,
        observer: false,
      };
      state.keys.push(key);
      state.secretKey.set(key.current, key.id);
      learn(state, call.person, key.current);
      return;
    }
    case "updateKey": {
      const key = keyOf(state, call.keyId)!;
      if (call.scopes) key.scopes = [...new Set(call.scopes)];
      if (call.ownerUserId !== undefined) key.ownerUserId = call.ownerUserId;
      if (call.isActive !== undefined) key.isActive = call.isActive;
      // The caller may act on the key as it now is, so whoever holds its secret was granted that.
      const owner = userOf(state, key.ownerUserId);
      if (owner) grantRank(state, key, RANK[owner.role]);
      for (const person of knowersOf(state, key)) for (const s of key.scopes) person.scopeCeiling.add(s);
      const bound = rateBound(state, key.organizationId, key.ownerUserId);
      // "A key ... updated without a rate limit gets the tightest bound that applies to its owner":
      // a key left without one, and one whose limit was removed (rate_limit 0).
      const set = call.rate === undefined ? key.rateCeiling : call.rate.limit > 0 ? perMinute(call.rate.limit, call.rate.period) : bound;
      key.rateCeiling = Math.min(set, bound);
      return;
    }
    case "regenerateKey": {
      const key = keyOf(state, call.keyId)!;
      key.previous = call.graceSeconds > 0 ? { secret: key.current, until: state.now + call.graceSeconds * 1000 } : null;
      key.current = answer.secret!;
      state.secretKey.set(key.current, key.id);
      learn(state, call.person, key.current);
      return;
    }
    case "revokeKey": {
      const key = keyOf(state, call.keyId)!;
      Object.assign(key, { revoked: true, isActive: false, recoverable: false });
      return;
    }
    case "deleteKey":
      keyOf(state, call.keyId)!.deleted = true;
      return;
    case "revealKey":
      learn(state, call.person, keyOf(state, call.keyId)!.current);
      return;
    case "addUser":
      state.users.push({
        id: answer.userId!,
        organizationId: caller.me.organizationId,
        label: `user ${state.users.length} (by ${call.person})`,
        role: call.role ?? "member",
        limits: { ...call.limits },
        removed: false,
        observer: false,
      });
      return;
    case "updateUser": {
      const user = userOf(state, call.userId)!;
      const boundBefore = limitsOf(state, user).maxRateLimitPerMinute;
      if (call.role) user.role = call.role;
      user.limits = patchedLimits(user.limits, call.limits, call.reset);
      // A role the caller may give: to the user's own person, and to whoever holds the user's keys.
      for (const person of state.people.filter((p) => p.userId === user.id)) person.rankCeiling = Math.max(person.rankCeiling, RANK[user.role]);
      for (const key of state.keys.filter((k) => !k.deleted && k.ownerUserId === user.id)) grantRank(state, key, RANK[user.role]);
      // "Narrowing a user's limits re-bounds that user's existing keys at once."
      const bound = limitsOf(state, user).maxRateLimitPerMinute;
      if (bound < boundBefore) for (const key of state.keys.filter((k) => !k.deleted && k.ownerUserId === user.id)) key.rateCeiling = Math.min(key.rateCeiling, bound);
      return;
    }
    case "removeUser": {
      const user = userOf(state, call.userId)!;
      user.removed = true;
      // Its user keys stop working; its shared keys pass to the user keygate names (keygate chooses
      // the organization's first owner or admin) without their admin scopes.
      const successor = answer.successorUserId ? userOf(state, answer.successorUserId) : undefined;
      for (const key of state.keys.filter((k) => !k.deleted && !k.revoked && k.ownerUserId === user.id)) {
        if (key.keyType === "user") {
          key.isActive = false;
        } else if (successor) {
          key.ownerUserId = successor.id;
          // Without its admin scopes: the removed user still knows the secret, and with them it
          // would act on the admin API with the successor's role.
          key.scopes = key.scopes.filter((scope) => scope !== "admin:read" && scope !== "admin:write");
          // What the remover could have granted: no rank above its own.
          grantRank(state, key, Math.min(RANK[successor.role], RANK[caller.me.role]));
        }
      }
      return;
    }
  }
}
