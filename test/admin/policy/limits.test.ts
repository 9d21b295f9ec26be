import { describe, expect, it } from "vitest";
import { DEFAULT_SCOPES } from "../../../src/model/scopes.js";
import { mayAddUser, keyRateBound, mayChangeUser, mayGiveRate, type RefusalRule } from "../../../src/admin/policy.js";
import { effectiveLimits, type EffectiveLimits } from "../../../src/admin/policy.js";
import { boundRateLimit, perMinuteOf } from "../../../src/store/key-bound.js";
import type { KeyRateLimit, UserLimits } from "../../../src/model/records.js";
import { actor, expectDecision, ME, PRO, WRITER, type CallerCase } from "./oracle.js";

/** Limits are granted like scopes: changing one's own, adding a user with limits, widening another user's, and the rate of a key given. */

describe("policy: changing limits (own user or another admin's; each limit raised or narrowed)", () => {
  const before: UserLimits = { maxKeys: 10, maxRateLimitPerMinute: 100, availableScopes: ["admin:read", "admin:write", "machines:read", "tags:read", "data:export"] };
  const changes: { name: string; after: UserLimits; raises?: string; takesInUse?: string; from?: UserLimits }[] = [
    { name: "max_keys raised", after: { ...before, maxKeys: 11 }, raises: "limits.max_keys" },
    { name: "max_keys lowered", after: { ...before, maxKeys: 9 } },
    { name: "max_rate_limit raised", after: { ...before, maxRateLimitPerMinute: 101 }, raises: "limits.max_rate_limit" },
    { name: "max_rate_limit handed back to the plan", after: { ...before, maxRateLimitPerMinute: undefined! }, raises: "limits.max_rate_limit" },
    { name: "max_rate_limit lowered", after: { ...before, maxRateLimitPerMinute: 99 } },
    { name: "a scope added", after: { ...before, availableScopes: [...before.availableScopes!, "documents:read"] }, raises: "limits.available_scopes" },
    { name: "an unused scope taken", after: { ...before, availableScopes: before.availableScopes!.filter((s) => s !== "data:export") } },
    { name: "a scope in use taken", after: { ...before, availableScopes: before.availableScopes!.filter((s) => s !== "tags:read") }, takesInUse: "limits.available_scopes" },
    { name: "admin keys turned off", after: { ...before, canCreateAdminKeys: false }, takesInUse: "limits.can_create_admin_keys" },
    { name: "admin keys turned back on", from: { ...before, canCreateAdminKeys: false }, after: { ...before, canCreateAdminKeys: true }, raises: "limits.can_create_admin_keys" },
  ];
  const rows = changes.flatMap((change) => [true, false].map((self) => ({ change, self })));

  it.each(rows.map((r) => [r.change.name, r.self ? "own user" : "another admin", r] as const))("%s, on %s", (_change, _whose, { change, self }) => {
    const from = change.from ?? before;
    const me = actor({ name: "admin", role: "admin", keyScopes: WRITER, operator: false, ...(self && { limits: from }) });
    const clean = (limits: UserLimits): UserLimits => JSON.parse(JSON.stringify(limits)) as UserLimits;
    const limits = { before: effectiveLimits(PRO, DEFAULT_SCOPES, { id: "u", limits: clean(from) }), after: effectiveLimits(PRO, DEFAULT_SCOPES, { id: "u", limits: clean(change.after) }) };
    const decision = mayChangeUser(me, { id: self ? ME : "user_other_admin", role: "admin" }, { limits });
    // An admin's own key loses its admin scopes with can_create_admin_keys off: it acts with none then.
    const broken: RefusalRule[] = !self ? [] : change.raises ? ["OWN_LIMITS_RAISED"] : change.takesInUse ? ["OWN_RIGHTS_IN_USE"] : [];
    expectDecision(decision, broken, () => change.raises ?? change.takesInUse);
  });
});

/**
 * Limits are granted like scopes: what a caller gives another user (a new one, or another's limits
 * widened) stays within the caller's own. Callers of each managing role, uncapped, capped in every
 * limit, or without the admin-key right.
 */
const LIMIT_CALLERS: CallerCase[] = (["owner", "admin"] as const).flatMap((role) => [
  { name: `${role}, uncapped`, role, keyScopes: WRITER, operator: false },
  {
    name: `${role}, capped`,
    role,
    keyScopes: WRITER,
    operator: false,
    limits: { maxKeys: 10, maxRateLimitPerMinute: 100, availableScopes: ["admin:read", "admin:write", "machines:read", "tags:read", "data:export"] },
  },
  { name: `${role}, no admin keys`, role, keyScopes: WRITER, operator: false, limits: { canCreateAdminKeys: false } },
]);

/** A user's limits as they apply (within the pro plan). */
const applied = (limits: UserLimits): EffectiveLimits => effectiveLimits(PRO, DEFAULT_SCOPES, { id: "user_target", limits: JSON.parse(JSON.stringify(limits)) as UserLimits });

/** The caller's own limits as request values, so a limit can be set at, below or above them. */
function ownAsRequest(c: CallerCase): Required<UserLimits> {
  const own = applied(c.limits ?? {});
  return { maxKeys: own.maxKeys, maxRateLimitPerMinute: own.maxRateLimitPerMinute, availableScopes: own.heldScopes, canCreateAdminKeys: own.keepsAdminScopes };
}

type LimitField = "max_keys" | "max_rate_limit" | "can_create_admin_keys" | "available_scopes";

/**
 * The oracle for limits given, from the contract's words and the brief's: each limit in request
 * order that the change widens (beyond what the user had) to more than the caller holds itself.
 */
function limitsGivenBeyondOwn(own: EffectiveLimits, before: EffectiveLimits | "nothing", after: EffectiveLimits): LimitField[] {
  const had = before === "nothing" ? undefined : before;
  const checks: [LimitField, boolean][] = [
    ["max_keys", after.maxKeys > (had?.maxKeys ?? 0) && after.maxKeys > own.maxKeys],
    ["max_rate_limit", after.maxRateLimitPerMinute > (had?.maxRateLimitPerMinute ?? 0) && after.maxRateLimitPerMinute > own.maxRateLimitPerMinute],
    [
      "can_create_admin_keys",
      (after.canCreateAdminKeys && !had?.canCreateAdminKeys && !own.canCreateAdminKeys) || (after.keepsAdminScopes && !had?.keepsAdminScopes && !own.keepsAdminScopes),
    ],
    ["available_scopes", after.heldScopes.some((scope) => !(had?.heldScopes ?? []).includes(scope) && !own.heldScopes.includes(scope))],
  ];
  return checks.filter(([, broken]) => broken).map(([field]) => field);
}

/** Values of one limit relative to the caller's own: the request value, or undefined to leave it to the plan. */
const LIMIT_VALUES: Record<LimitField, Record<string, (own: Required<UserLimits>) => Partial<UserLimits> | "plan">> = {
  max_keys: { below: (o) => ({ maxKeys: o.maxKeys - 1 }), at: (o) => ({ maxKeys: o.maxKeys }), above: (o) => ({ maxKeys: o.maxKeys + 1 }), "the plan's": () => "plan" },
  max_rate_limit: {
    below: (o) => ({ maxRateLimitPerMinute: o.maxRateLimitPerMinute - 1 }),
    at: (o) => ({ maxRateLimitPerMinute: o.maxRateLimitPerMinute }),
    above: (o) => ({ maxRateLimitPerMinute: o.maxRateLimitPerMinute + 1 }),
    "the plan's": () => "plan",
  },
  available_scopes: {
    narrower: (o) => ({ availableScopes: o.availableScopes.slice(1) }),
    "the same": (o) => ({ availableScopes: o.availableScopes }),
    wider: (o) => ({ availableScopes: [...o.availableScopes, "documents:read"] }),
    "the plan's": () => "plan",
  },
  can_create_admin_keys: { off: () => ({ canCreateAdminKeys: false }), on: () => ({ canCreateAdminKeys: true }), "the plan's": () => "plan" },
};

const REQUEST_NAME: Record<LimitField, keyof UserLimits> = {
  max_keys: "maxKeys",
  max_rate_limit: "maxRateLimitPerMinute",
  available_scopes: "availableScopes",
  can_create_admin_keys: "canCreateAdminKeys",
};

/** The caller's own limits with one of them set as the row says (or left to the plan). */
function withOne(own: Required<UserLimits>, field: LimitField, value: Partial<UserLimits> | "plan"): UserLimits {
  const limits: UserLimits = { ...own };
  delete limits[REQUEST_NAME[field]];
  return value === "plan" ? limits : { ...limits, ...value };
}

describe("policy: adding a user (caller capped or not × each limit below, at or above the caller's own, or the plan's)", () => {
  const rows = LIMIT_CALLERS.flatMap((c) => [
    { c, limit: "every limit", value: "the plan's", limits: {} as UserLimits },
    ...Object.entries(LIMIT_VALUES).flatMap(([field, values]) =>
      Object.entries(values).map(([value, make]) => ({ c, limit: field, value, limits: withOne(ownAsRequest(c), field as LimitField, make(ownAsRequest(c))) })),
    ),
  ]);

  it("generates rows allowed and rows refused for every kind of caller", () => {
    for (const c of LIMIT_CALLERS.filter((caller) => caller.limits !== undefined)) {
      const answers = rows.filter((r) => r.c === c).map((r) => limitsGivenBeyondOwn(applied(c.limits!), "nothing", applied(r.limits)).length === 0);
      expect(answers).toContain(true);
      expect(answers).toContain(false);
    }
  });

  it.each(rows.map((r) => [r.c.name, r.limit, r.value, r] as const))("%s adds a user with %s %s", (_caller, _limit, _value, { c, limits }) => {
    const broken = limitsGivenBeyondOwn(applied(c.limits ?? {}), "nothing", applied(limits));
    const decision = mayAddUser(actor(c), c.role, applied(limits));
    expectDecision(decision, broken.length > 0 ? ["LIMITS_ABOVE_OWN"] : [], () => `limits.${broken[0]}`);
  });
});

describe("policy: widening another user's limits (caller capped or not × the user's limits before × each limit set or reset)", () => {
  const befores: Record<string, UserLimits> = {
    "a narrow user": { maxKeys: 2, maxRateLimitPerMinute: 10, availableScopes: ["machines:read"], canCreateAdminKeys: false },
    "a user on the plan's limits": {},
  };
  const rows = LIMIT_CALLERS.flatMap((c) =>
    Object.entries(befores).flatMap(([whom, before]) =>
      Object.entries(LIMIT_VALUES).flatMap(([field, values]) =>
        Object.entries(values).map(([value, make]) => {
          const set = make(ownAsRequest(c));
          const name = REQUEST_NAME[field as LimitField];
          const after: UserLimits = { ...before };
          if (set === "plan") delete after[name];
          else Object.assign(after, set);
          return { c, whom, before, field: field as LimitField, value, after, reset: set === "plan" ? [field] : [] };
        }),
      ),
    ),
  );

  it.each(rows.map((r) => [r.c.name, r.whom, r.field, r.value, r] as const))("%s changes %s: %s to %s", (_caller, _whom, _field, _value, { c, before, after, reset }) => {
    const change = { before: applied(before), after: applied(after), reset };
    const broken = limitsGivenBeyondOwn(applied(c.limits ?? {}), change.before, change.after);
    const decision = mayChangeUser(actor(c), { id: "user_other", role: "member" }, { limits: change });
    expectDecision(decision, broken.length > 0 ? ["LIMITS_ABOVE_OWN"] : [], () => (reset.includes(broken[0]!) ? "reset_limits" : `limits.${broken[0]}`));
  });

  it("refuses some rows and allows others, narrowing a user above the caller included", () => {
    const outcomes = rows.map((r) => limitsGivenBeyondOwn(applied(r.c.limits ?? {}), applied(r.before), applied(r.after)).length === 0);
    expect(outcomes).toContain(true);
    expect(outcomes).toContain(false);
  });
});

describe("policy: the rate of a key given (caller capped or not × owner × rate within or above the caller's bound, or left out)", () => {
  const callers = LIMIT_CALLERS.filter((c) => c.limits?.canCreateAdminKeys !== false);
  const owners = [
    { name: "itself", id: ME, limits: undefined as UserLimits | undefined },
    { name: "another user on the plan's limits", id: "user_other", limits: {} },
    { name: "another user capped at 50 a minute", id: "user_other", limits: { maxRateLimitPerMinute: 50 } },
  ];
  const rates: Record<string, ((bound: number) => KeyRateLimit) | undefined> = {
    "left out": undefined,
    "at the caller's bound": (bound) => ({ limit: bound, period: "minute" }),
    "one above it": (bound) => ({ limit: bound + 1, period: "minute" }),
    "above it per second": (bound) => ({ limit: Math.ceil(bound / 60) + 1, period: "second" }),
  };
  const rows = callers.flatMap((c) => owners.flatMap((owner) => Object.entries(rates).map(([rate, make]) => ({ c, owner, rate, make }))));

  it.each(rows.map((r) => [r.c.name, r.owner.name, r.rate, r] as const))("%s, a key for %s, rate %s", (_caller, _owner, _rate, { c, owner, make }) => {
    const me = actor(c);
    const callerBound = me.limits.maxRateLimitPerMinute;
    const ownerBound = owner.id === ME ? me.limits.rateLimitBound : applied(owner.limits!).rateLimitBound;
    const bound = keyRateBound(me, owner, ownerBound);
    // Left out, a key gets the tightest bound that applies: its owner's, and for another user's key the caller's too.
    expect(bound.maxPerMinute).toBe(owner.id === ME ? ownerBound.maxPerMinute : Math.min(ownerBound.maxPerMinute, callerBound));
    const rateLimit = make ? make(callerBound) : boundRateLimit(bound.maxPerMinute);
    const broken: RefusalRule[] = owner.id !== ME && perMinuteOf(rateLimit) > callerBound ? ["RATE_ABOVE_OWN"] : [];
    expectDecision(mayGiveRate(me, owner, rateLimit), broken, () => "rate_limit");
  });
});
