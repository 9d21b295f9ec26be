import { expect } from "vitest";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import { DEFAULT_PLANS } from "../../../src/model/plans.js";
import { DEFAULT_SCOPES } from "../../../src/model/scopes.js";
import { actorOf, ALLOWED, type Actor, type Decision, type RefusalRule } from "../../../src/admin/policy.js";
import type { UserLimits, UserRole } from "../../../src/model/records.js";

/**
 * The admin plane's policy as a table: every combination of the caller's role and key, the action,
 * the target's owner rank and how the target's scopes relate to the caller's, generated in full.
 * Each row's expectation comes from the contract's "Who may do what", written here a second time
 * as an oracle that lists every rule the row breaks; the policy must allow exactly the rows that
 * break none, and refuse the others by one of the rules they break.
 *
 * The tables are split by area beside this file (key-actions, user-actions, limits, rpc-access);
 * this file holds what they share: the callers, the oracle for RPC access (every other oracle
 * starts from it), and how a decision is held to an oracle.
 */

export const PRO = DEFAULT_PLANS.find((plan) => plan.name === "pro")!;
export const FREE = DEFAULT_PLANS.find((plan) => plan.name === "free")!;
export const PLATFORM_ADMIN = "platform:admin";
export const ROLES: readonly UserRole[] = ["member", "admin", "owner"];
export const RANK: Record<UserRole, number> = { member: 0, admin: 1, owner: 2 };
export const ME = "user_me";

/** The caller: a role, the scopes its key holds, optionally its user's own limits, operator or not. */
export interface CallerCase {
  name: string;
  role: UserRole;
  keyScopes: string[];
  operator: boolean;
  limits?: UserLimits;
  plan?: typeof PRO;
}

export const actor = (c: CallerCase): Actor =>
  actorOf({ key: { id: "key_mine", scopes: c.keyScopes }, user: { id: ME, role: c.role, ...(c.limits && { limits: c.limits }) }, plan: c.plan ?? PRO, operator: c.operator }, DEFAULT_SCOPES);

export const WRITER = ["admin:read", "admin:write", "machines:read", "tags:read"];

/**
 * A read, per the proto: declared free of side effects, or idempotent (GetKey and TestKey, reads
 * that may carry a secret and so are kept off Connect GET), or a stream of events.
 */
const READ_LEVELS = new Set([MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS, MethodOptions_IdempotencyLevel.IDEMPOTENT]);
const READS = new Set(KeyAdminService.methods.filter((m) => READ_LEVELS.has(m.idempotency) || m.methodKind === "server_streaming").map((m) => m.name));

/** The oracle for RPC access: admin:read for reads, admin:write for changes (implying read), operators for OperatorService. */
export function rpcRulesBroken(c: CallerCase, method: string, service: "KeyAdminService" | "OperatorService"): RefusalRule[] {
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

/** Refusals of the whole call name no field. */
const WHOLE_CALL: ReadonlySet<RefusalRule> = new Set(["SCOPE_MISSING", "NOT_PLATFORM_OPERATOR", "USERS_NOT_MANAGED"]);

/**
 * A decision agrees with the oracle: allowed exactly when no rule is broken, else refused by one
 * that is, naming the field that rule is about (none for a refusal of the whole call).
 */
export function expectDecision(decision: Decision, broken: RefusalRule[], fieldOf: (rule: RefusalRule) => string | undefined): void {
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
