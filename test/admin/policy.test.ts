import { describe, expect, it } from "vitest";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import { DEFAULT_PLANS } from "../../src/model/plans.js";
import { DEFAULT_SCOPES } from "../../src/model/scopes.js";
import {
  actorOf,
  ALLOWED,
  effectiveLimits,
  mayActOnKey,
  mayActOnOperatorKey,
  mayAddUser,
  keyRateBound,
  mayAskForSecret,
  mayCall,
  mayChangeUser,
  mayGiveRate,
  mayGrantScopes,
  mayNameOwner,
  mayRemoveUser,
  type Actor,
  type Decision,
  type EffectiveLimits,
  type KeyAction,
  type OperatorKeyAction,
  type RefusalRule,
} from "../../src/admin/policy.js";
import { firstRefusal } from "../../src/admin/policy/decision.js";
import { boundRateLimit, perMinuteOf } from "../../src/store/key-bound.js";
import type { KeyRateLimit, UserLimits, UserRole } from "../../src/model/records.js";

/**
 * The admin plane's policy as a table: every combination of the caller's role and key, the action,
 * the target's owner rank and how the target's scopes relate to the caller's, generated in full.
 * Each row's expectation comes from the contract's "Who may do what", written here a second time
 * as an oracle that lists every rule the row breaks; the policy must allow exactly the rows that
 * break none, and refuse the others by one of the rules they break.
 */

const PRO = DEFAULT_PLANS.find((plan) => plan.name === "pro")!;
const FREE = DEFAULT_PLANS.find((plan) => plan.name === "free")!;
const PLATFORM_ADMIN = "platform:admin";
const ROLES: readonly UserRole[] = ["member", "admin", "owner"];
const RANK: Record<UserRole, number> = { member: 0, admin: 1, owner: 2 };
const ME = "user_me";

/** The caller: a role, the scopes its key holds, optionally its user's own limits, operator or not. */
interface CallerCase {
  name: string;
  role: UserRole;
  keyScopes: string[];
  operator: boolean;
  limits?: UserLimits;
  plan?: typeof PRO;
}

const actor = (c: CallerCase): Actor =>
  actorOf({ key: { id: "key_mine", scopes: c.keyScopes }, user: { id: ME, role: c.role, ...(c.limits && { limits: c.limits }) }, plan: c.plan ?? PRO, operator: c.operator }, DEFAULT_SCOPES);

const WRITER = ["admin:read", "admin:write", "machines:read", "tags:read"];
const READER = ["admin:read", "machines:read", "tags:read"];

/** Every role with an admin:write key and with an admin:read one, and a platform operator. */
const CALLERS: CallerCase[] = [
  ...ROLES.flatMap((role) => [
    { name: `${role} (admin:write key)`, role, keyScopes: WRITER, operator: false },
    { name: `${role} (admin:read key)`, role, keyScopes: READER, operator: false },
  ]),
  { name: "platform operator (owner)", role: "owner", keyScopes: [PLATFORM_ADMIN, ...WRITER], operator: true },
];

/** How a target's scopes relate to the caller's key. */
const RELATIONS: Record<string, (mine: string[]) => string[]> = {
  empty: () => [],
  subset: (mine) => mine.slice(0, -1),
  equal: (mine) => [...mine],
  superset: (mine) => [...mine, "data:export"],
  disjoint: () => ["documents:read"],
  "platform:admin": (mine) => [...new Set([PLATFORM_ADMIN, ...mine])],
};

/** Whose key it is: the caller's own user, another user of each role, or a removed user. */
const OWNERS: { name: string; id: string; role: UserRole | null }[] = [
  { name: "mine", id: ME, role: null },
  ...ROLES.map((role) => ({ name: `another ${role}'s`, id: `user_other_${role}`, role })),
  { name: "a removed user's (orphaned)", id: "user_removed", role: null },
];

const ACTIONS: KeyAction[] = ["update", "regenerate", "revoke", "delete", "reveal"];
const METHOD_OF: Record<KeyAction, string> = { update: "UpdateKey", regenerate: "RegenerateKey", revoke: "RevokeKey", delete: "DeleteKey", reveal: "GetKey" };

/**
 * A read, per the proto: declared free of side effects, or idempotent (GetKey and TestKey, reads
 * that may carry a secret and so are kept off Connect GET), or a stream of events.
 */
const READ_LEVELS = new Set([MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS, MethodOptions_IdempotencyLevel.IDEMPOTENT]);
const READS = new Set(KeyAdminService.methods.filter((m) => READ_LEVELS.has(m.idempotency) || m.methodKind === "server_streaming").map((m) => m.name));

/** The oracle for RPC access: admin:read for reads, admin:write for changes (implying read), operators for OperatorService. */
function rpcRulesBroken(c: CallerCase, method: string, service: "KeyAdminService" | "OperatorService"): RefusalRule[] {
  const usable = new Set(c.keyScopes.filter((scope) => scope !== PLATFORM_ADMIN || c.operator));
  if (c.limits?.canCreateAdminKeys === false) for (const admin of ["admin:read", "admin:write"]) usable.delete(admin);
  if (c.limits?.availableScopes) for (const scope of [...usable]) if (scope !== PLATFORM_ADMIN && !c.limits.availableScopes.includes(scope)) usable.delete(scope);
  if (service === "OperatorService") {
    if (c.operator) return [];
    return c.keyScopes.includes(PLATFORM_ADMIN) ? ["NOT_PLATFORM_OPERATOR"] : ["SCOPE_MISSING"];
  }
  const ok = usable.has("admin:write") || (READS.has(method) && usable.has("admin:read"));
  return ok ? [] : ["SCOPE_MISSING"];
}

type TargetCase = { scopes: string[]; ownerId: string; ownerRole: UserRole | null };

/** The oracle for acting on a key, from the contract's words. */
function keyRulesBroken(c: CallerCase, action: KeyAction, target: TargetCase): RefusalRule[] {
  const broken = rpcRulesBroken(c, METHOD_OF[action], "KeyAdminService");
  if (action === "reveal" && (c.operator || !c.keyScopes.includes("admin:write"))) broken.push("SECRET_NOT_SHOWN");
  if (target.scopes.includes(PLATFORM_ADMIN)) broken.push("PLATFORM_KEY");
  return [...broken, ...reachRulesBroken(c, target)];
}

/** Any key, operator keys included: its scopes all the caller's, its owner ranking no higher, a member's own. */
function reachRulesBroken(c: CallerCase, target: TargetCase): RefusalRule[] {
  const broken: RefusalRule[] = [];
  const mine = new Set(c.keyScopes.filter((scope) => scope !== PLATFORM_ADMIN || c.operator));
  if (!target.scopes.every((scope) => mine.has(scope))) broken.push("KEY_SCOPES_NOT_HELD");
  const ownerRank = target.ownerId === ME ? RANK[c.role] : RANK[target.ownerRole ?? "member"];
  if (ownerRank > RANK[c.role]) broken.push("KEY_OWNER_OUTRANKS");
  if (c.role === "member" && target.ownerId !== ME) broken.push("NOT_OWN_KEY");
  return broken;
}

const OPERATOR_METHOD_OF: Record<OperatorKeyAction, string> = { regenerate: "RegenerateOperatorKey", revoke: "RevokeOperatorKey" };

/**
 * The oracle for OperatorService's operator-key RPCs: `platform:admin` keys are managed only by
 * platform operators, and through these only those keys; otherwise as any key.
 */
function operatorKeyRulesBroken(c: CallerCase, action: OperatorKeyAction, target: TargetCase): RefusalRule[] {
  const broken = rpcRulesBroken(c, OPERATOR_METHOD_OF[action], "OperatorService");
  if (!c.operator) broken.push("NOT_PLATFORM_OPERATOR");
  if (!target.scopes.includes(PLATFORM_ADMIN)) broken.push("NOT_OPERATOR_KEY");
  return [...broken, ...reachRulesBroken(c, target)];
}

/** Refusals of the whole call name no field. */
const WHOLE_CALL: ReadonlySet<RefusalRule> = new Set(["SCOPE_MISSING", "NOT_PLATFORM_OPERATOR", "USERS_NOT_MANAGED"]);

/**
 * A decision agrees with the oracle: allowed exactly when no rule is broken, else refused by one
 * that is, naming the field that rule is about (none for a refusal of the whole call).
 */
function expectDecision(decision: Decision, broken: RefusalRule[], fieldOf: (rule: RefusalRule) => string | undefined): void {
  if (broken.length === 0) {
    expect(decision).toEqual(ALLOWED);
    return;
  }
  expect(decision.allowed).toBe(false);
  if (decision.allowed) return;
  expect(broken).toContain(decision.rule);
  expect(decision.message.length).toBeGreaterThan(0);
  const field = WHOLE_CALL.has(decision.rule) ? undefined : fieldOf(decision.rule);
  expect(decision.field).toBe(field);
  if (field !== undefined) expect(decision.message.startsWith(`${field}: `)).toBe(true);
}

const an = (role: string): string => (/^[aeiou]/.test(role) ? `an ${role}` : `a ${role}`);

describe("policy: acting on a key (role × key × action × owner rank × scope relation)", () => {
  const rows = CALLERS.flatMap((c) =>
    ACTIONS.flatMap((action) =>
      OWNERS.flatMap((owner) =>
        Object.entries(RELATIONS).map(([relation, scopesOf]) => ({ c, action, owner, relation, scopes: scopesOf(c.keyScopes) })),
      ),
    ),
  );

  it("generates the whole table", () => {
    expect(rows).toHaveLength(CALLERS.length * ACTIONS.length * OWNERS.length * Object.keys(RELATIONS).length);
    // Every kind of answer occurs, so the oracle is not trivially "refuse everything".
    expect(rows.some((r) => keyRulesBroken(r.c, r.action, { scopes: r.scopes, ownerId: r.owner.id, ownerRole: r.owner.role }).length === 0)).toBe(true);
  });

  it.each(rows.map((r) => [r.c.name, r.action, r.owner.name, r.relation, r] as const))(
    "%s, %s, %s key, scopes %s",
    (_caller, _action, _owner, _relation, { c, action, owner, scopes }) => {
      const me = actor(c);
      const ownerRole = owner.id === ME ? c.role : owner.role;
      const target = { ownerUserId: owner.id, ownerRole, scopes };
      const decision = firstRefusal(
        () => mayCall(me, METHOD_OF[action], KeyAdminService.typeName),
        () => (action === "reveal" ? mayAskForSecret(me) : ALLOWED),
        () => mayActOnKey(me, action, target),
      );
      const broken = keyRulesBroken(c, action, { scopes, ownerId: owner.id, ownerRole: owner.role });
      expectDecision(decision, broken, () => (action === "reveal" ? "show_key_value" : "id"));
    },
  );
});

describe("policy: operator keys through OperatorService (caller × action × owner rank × scope relation)", () => {
  const callers: CallerCase[] = [
    ...CALLERS,
    { name: "platform:admin outside the platform organization", role: "owner", keyScopes: [PLATFORM_ADMIN, ...WRITER], operator: false },
  ];
  const actions: OperatorKeyAction[] = ["regenerate", "revoke"];
  const rows = callers.flatMap((c) =>
    actions.flatMap((action) =>
      OWNERS.flatMap((owner) => Object.entries(RELATIONS).map(([relation, scopesOf]) => ({ c, action, owner, relation, scopes: scopesOf(c.keyScopes) }))),
    ),
  );

  it("generates the whole table, with rows allowed and rows refused", () => {
    expect(rows).toHaveLength(callers.length * actions.length * OWNERS.length * Object.keys(RELATIONS).length);
    const answers = rows.map((r) => operatorKeyRulesBroken(r.c, r.action, { scopes: r.scopes, ownerId: r.owner.id, ownerRole: r.owner.role }).length === 0);
    expect(answers).toContain(true);
    expect(answers).toContain(false);
  });

  it.each(rows.map((r) => [r.c.name, r.action, r.owner.name, r.relation, r] as const))(
    "%s, %s, %s key, scopes %s",
    (_caller, _action, _owner, _relation, { c, action, owner, scopes }) => {
      const me = actor(c);
      const target = { ownerUserId: owner.id, ownerRole: owner.id === ME ? c.role : owner.role, scopes };
      const decision = firstRefusal(
        () => mayCall(me, OPERATOR_METHOD_OF[action], OperatorService.typeName),
        () => mayActOnOperatorKey(me, action, target),
      );
      expectDecision(decision, operatorKeyRulesBroken(c, action, { scopes, ownerId: owner.id, ownerRole: owner.role }), () => "id");
    },
  );
});

describe("policy: creating a key (role × plan × owner named × scope relation)", () => {
  const callers: CallerCase[] = ROLES.flatMap((role) => [
    { name: `${role} on pro`, role, keyScopes: WRITER, operator: false, plan: PRO },
    { name: `${role} on free (no new admin keys)`, role, keyScopes: WRITER, operator: false, plan: FREE },
  ]);
  const named = [{ name: "itself", id: ME, role: undefined }, ...ROLES.map((role) => ({ name: `another ${role}`, id: `user_other_${role}`, role }))];
  const rows = callers.flatMap((c) => named.flatMap((owner) => Object.entries(RELATIONS).map(([relation, scopesOf]) => ({ c, owner, relation, scopes: scopesOf(c.keyScopes) }))));

  it.each(rows.map((r) => [r.c.name, r.owner.name, r.relation, r] as const))("%s, for %s, scopes %s", (_caller, _owner, _relation, { c, owner, scopes }) => {
    const me = actor(c);
    const ownerRole = owner.role ?? c.role;
    const decision = firstRefusal(
      () => mayCall(me, "CreateKey", KeyAdminService.typeName),
      () => mayNameOwner(me, { id: owner.id, role: ownerRole }),
      () => mayGrantScopes(me, scopes),
    );
    const broken: RefusalRule[] = [];
    if (owner.id !== ME && (c.role === "member" || RANK[ownerRole] > RANK[c.role])) broken.push("OWNER_NOT_NAMEABLE");
    if (scopes.includes(PLATFORM_ADMIN) || !scopes.every((scope) => c.keyScopes.includes(scope))) broken.push("SCOPE_NOT_GRANTABLE");
    if (!c.plan!.canCreateAdminKeys && scopes.some((scope) => scope.startsWith("admin:"))) broken.push("ADMIN_KEYS_NOT_ALLOWED");
    expectDecision(decision, broken, (rule) => (rule === "OWNER_NOT_NAMEABLE" ? "owner_user_id" : "scopes"));
  });
});

describe("policy: users (role × action × target rank, self or another)", () => {
  type UserCall = { name: string; self: boolean; targeted?: false; run: (me: Actor, target: { id: string; role: UserRole }) => Decision; broken: (role: UserRole, target: UserRole, self: boolean) => RefusalRule[] };
  const managers = (role: UserRole): RefusalRule[] => (role === "member" ? ["USERS_NOT_MANAGED"] : []);
  const calls: UserCall[] = [
    ...ROLES.map((newRole): UserCall => ({
      name: `add ${an(newRole)}`,
      self: false,
      targeted: false,
      run: (me) => mayAddUser(me, newRole, me.limits),
      broken: (role) => [...managers(role), ...(RANK[newRole] > RANK[role] ? (["ROLE_ABOVE_OWN"] as const) : [])],
    })),
    ...[false, true].flatMap((self) => [
      {
        name: "rename",
        self,
        run: (me: Actor, target: { id: string; role: UserRole }) => mayChangeUser(me, target, {}),
        broken: (role: UserRole, target: UserRole) => [...managers(role), ...(RANK[target] > RANK[role] ? (["USER_OUTRANKS"] as const) : [])],
      },
      ...ROLES.map((newRole): UserCall => ({
        name: `make ${newRole}`,
        self,
        run: (me, target) => mayChangeUser(me, target, { role: newRole }),
        broken: (role, target, isSelf) => [
          ...managers(role),
          ...(RANK[target] > RANK[role] ? (["USER_OUTRANKS"] as const) : []),
          ...(RANK[newRole] > RANK[role] ? (["ROLE_ABOVE_OWN"] as const) : []),
          ...(isSelf && newRole !== role ? (["OWN_ROLE"] as const) : []),
        ],
      })),
      {
        name: "remove",
        self,
        run: (me: Actor, target: { id: string; role: UserRole }) => mayRemoveUser(me, target),
        broken: (role: UserRole, target: UserRole, isSelf: boolean) => [
          ...managers(role),
          ...(isSelf ? (["OWN_USER_REMOVED"] as const) : []),
          ...(RANK[target] > RANK[role] ? (["USER_OUTRANKS"] as const) : []),
        ],
      },
    ]),
  ];
  const rows = ROLES.flatMap((role) =>
    calls.flatMap((call) => (call.self || call.targeted === false ? [{ role, call, target: role }] : ROLES.map((target) => ({ role, call, target })))),
  );

  const FIELD_OF_RULE: Partial<Record<RefusalRule, string>> = { USER_OUTRANKS: "id", OWN_USER_REMOVED: "id", ROLE_ABOVE_OWN: "role", OWN_ROLE: "role" };
  const whom = (r: (typeof rows)[number]) => (r.call.targeted === false ? "the organization" : r.call.self ? "itself" : an(r.target));

  it.each(rows.map((r) => [r.role, r.call.name, whom(r), r] as const))("%s: %s, on %s", (_role, _call, _target, { role, call, target }) => {
    const me = actor({ name: role, role, keyScopes: WRITER, operator: false });
    const decision = call.run(me, { id: call.self ? ME : `user_other_${target}`, role: target });
    expectDecision(decision, call.broken(role, target, call.self), (rule) => FIELD_OF_RULE[rule]);
  });
});

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

describe("policy: which RPC a key may call (every method × the key's admin scopes × its user's limits)", () => {
  const keys: CallerCase[] = [
    { name: "no admin scope", role: "owner", keyScopes: ["machines:read"], operator: false },
    { name: "admin:read", role: "owner", keyScopes: ["admin:read"], operator: false },
    { name: "admin:write", role: "owner", keyScopes: ["admin:write"], operator: false },
    { name: "admin:read and admin:write", role: "owner", keyScopes: ["admin:read", "admin:write"], operator: false },
    { name: "admin scopes, user may keep none", role: "owner", keyScopes: ["admin:read", "admin:write"], operator: false, limits: { canCreateAdminKeys: false } },
    { name: "admin scopes, user's available_scopes without admin:write", role: "owner", keyScopes: ["admin:read", "admin:write"], operator: false, limits: { availableScopes: ["admin:read"] } },
    { name: "admin scopes on the free plan (kept: the plan only stops new admin keys)", role: "owner", keyScopes: ["admin:read", "admin:write"], operator: false, plan: FREE },
    { name: "platform operator", role: "owner", keyScopes: [PLATFORM_ADMIN, "admin:read", "admin:write"], operator: true },
    { name: "platform:admin outside the platform organization", role: "owner", keyScopes: [PLATFORM_ADMIN, "admin:read", "admin:write"], operator: false },
  ];
  const rows = [
    ...KeyAdminService.methods.flatMap((m) => keys.map((c) => ({ service: "KeyAdminService" as const, typeName: KeyAdminService.typeName, method: m.name, c }))),
    ...OperatorService.methods.flatMap((m) => keys.map((c) => ({ service: "OperatorService" as const, typeName: OperatorService.typeName, method: m.name, c }))),
  ];

  it.each(rows.map((r) => [r.service, r.method, r.c.name, r] as const))("%s/%s with %s", (_service, _method, _key, { service, typeName, method, c }) => {
    expectDecision(mayCall(actor(c), method, typeName), rpcRulesBroken(c, method, service), () => undefined);
  });
});
