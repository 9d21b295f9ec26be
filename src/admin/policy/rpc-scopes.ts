import { OperatorService } from "../../../gen/keygate/v1/operator_pb.js";
import { ADMIN_READ, ADMIN_WRITE } from "../../model/scopes.js";
import { PLATFORM_ADMIN } from "../../model/platform.js";
import type { Actor } from "./actor.js";
import { ALLOWED, refuse, type Decision } from "./decision.js";

/** Methods that only read need admin:read; everything else needs admin:write (which implies read). */
const READ_METHODS: ReadonlySet<string> = new Set([
  "ListKeys",
  "GetKey",
  "TestKey",
  "ListScopes",
  "GetMyLimits",
  "ListAuditEvents",
  "GetKeyUsage",
  "GetOrganizationUsage",
  "GetBillingUsage",
  "GetAnalyticsSummary",
  "GetQuotaStatus",
  "WatchUsage",
  "ListUsers",
  "ListWebhookEndpoints",
  "ListWebhookDeliveries",
  "GetOrganizationSettings",
  "GetIdentity",
  "ListIdentities",
  "GetIdentityUsage",
]);

/** OperatorService needs a platform operator; KeyAdminService reads admin:read, the rest admin:write. */
export function requiredScope(methodName: string, serviceTypeName = "keygate.v1.KeyAdminService"): string {
  if (serviceTypeName === OperatorService.typeName) return PLATFORM_ADMIN;
  return READ_METHODS.has(methodName) ? ADMIN_READ : ADMIN_WRITE;
}

/** May the actor call this RPC at all: the scope it needs, and for OperatorService an operator. */
export function mayCall(actor: Pick<Actor, "scopes" | "keyScopes" | "operator">, methodName: string, serviceTypeName: string): Decision {
  const scope = requiredScope(methodName, serviceTypeName);
  // A platform:admin key outside the platform organization holds the scope but is nobody's operator.
  if (scope === PLATFORM_ADMIN && !actor.operator && actor.keyScopes.includes(PLATFORM_ADMIN)) {
    return refuse("NOT_PLATFORM_OPERATOR", `${methodName} needs a platform operator key (${PLATFORM_ADMIN})`, { scope });
  }
  const held = actor.scopes.has(scope) || (scope === ADMIN_READ && actor.scopes.has(ADMIN_WRITE));
  if (!held) return refuse("SCOPE_MISSING", `${methodName} needs the ${scope} scope`, { scope });
  return ALLOWED;
}
