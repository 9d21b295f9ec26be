import { describe, it } from "vitest";
import { KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../../gen/keygate/v1/operator_pb.js";
import { mayCall } from "../../../src/admin/policy.js";
import { actor, expectDecision, FREE, PLATFORM_ADMIN, rpcRulesBroken, type CallerCase } from "./oracle.js";

/** Which RPC a key may call: every method of both services × the key's admin scopes × its user's limits. */

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
