import { describe, expect, it } from "vitest";
import { KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../../gen/keygate/v1/operator_pb.js";
import { ALLOWED, mayActOnKey, mayActOnOperatorKey, mayAskForSecret, mayCall, mayGrantScopes, mayNameOwner, type KeyAction, type OperatorKeyAction, type RefusalRule } from "../../../src/admin/policy.js";
import { firstRefusal } from "../../../src/admin/policy/decision.js";
import type { UserRole } from "../../../src/model/records.js";
import { actor, expectDecision, FREE, ME, PLATFORM_ADMIN, PRO, RANK, ROLES, rpcRulesBroken, WRITER, type CallerCase } from "./oracle.js";

/** Acting on a key, an operator key through OperatorService, and creating a key: each table with the oracle for it, from the contract's words. */

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
