import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import { clientAddressKey } from "../abuse/client-address.js";
import { ADMIN_READ, ADMIN_WRITE } from "../config/scopes.js";
import type { Plan } from "../config/plans.js";
import { admissionRefusalKey } from "../server/rpc-admission.js";
import type { KeyRecord, Organization, User } from "../store/types.js";
import { PLATFORM_ADMIN } from "../tenancy/platform.js";
import { adminError } from "./errors.js";
import type { AuditTrail } from "./audit-trail.js";
import { admittedCallerKey, auditFailedAuthentication, type AuthenticateCaller } from "./authenticate-caller.js";

/** Who is calling the admin API: the authenticated key, its organization, user and plan. */
export interface Caller {
  key: KeyRecord;
  organization: Organization;
  user: User;
  plan: Plan;
  /** A platform operator: the key holds platform:admin in the platform organization. */
  operator: boolean;
}

export const callerContextKey = createContextKey<Caller | undefined>(undefined, { description: "authenticated admin caller" });

/** The admin caller of a request; the authentication interceptor guarantees it is set. */
export function callerOf(context: { values: { get<T>(key: { id: symbol; defaultValue: T }): T } }): Caller {
  const caller = context.values.get(callerContextKey);
  if (!caller) throw new ConnectError("request reached a handler without authentication", Code.Internal);
  return caller;
}

/** Methods that only read need admin:read; everything else needs admin:write (which implies read). */
const READ_METHODS = new Set([
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
]);

/** OperatorService needs a platform operator; KeyAdminService reads admin:read, the rest admin:write. */
export function requiredScope(methodName: string, serviceTypeName = "keygate.v1.KeyAdminService"): string {
  if (serviceTypeName === OperatorService.typeName) return PLATFORM_ADMIN;
  return READ_METHODS.has(methodName) ? ADMIN_READ : ADMIN_WRITE;
}

export interface CallerAuthorizationDeps {
  /** Authenticates calls that reached the interceptor without an admission (e.g. an in-memory transport). */
  authenticate: AuthenticateCaller;
  audit: AuditTrail;
}

/**
 * Authorizes every KeyAdminService and OperatorService call and puts the Caller into the
 * context. The caller was authenticated from the headers before the body was read
 * (callerAdmission, src/admin/authenticate-caller.ts): a refusal there (`unauthenticated`) is
 * thrown here, so it is logged and counted like any other. Then `permission_denied` for a valid
 * key without the admin scope the method needs, or not a platform operator's; audited in the
 * key's organization.
 */
export function callerAuthentication(deps: CallerAuthorizationDeps): Interceptor {
  async function refuse(key: KeyRecord, method: string, reason: string, error: ConnectError): Promise<never> {
    await auditFailedAuthentication(deps.audit, key, method, reason);
    throw error;
  }

  return (next) => async (req) => {
    const method = req.method.name;
    const refusal = req.contextValues.get(admissionRefusalKey);
    if (refusal !== undefined) throw refusal.thrown;
    const caller =
      req.contextValues.get(admittedCallerKey) ?? (await deps.authenticate(req.header, req.contextValues.get(clientAddressKey), method));
    const { key } = caller;
    const scope = requiredScope(method, req.service.typeName);
    const hasScope = key.scopes.includes(scope) || (scope === ADMIN_READ && key.scopes.includes(ADMIN_WRITE));
    if (!hasScope) {
      return refuse(key, method, "SCOPE_MISSING", adminError("PERMISSION_DENIED", `${method} needs the ${scope} scope`, { scope }));
    }
    if (scope === PLATFORM_ADMIN && !caller.operator) {
      const error = adminError("PERMISSION_DENIED", `${method} needs a platform operator key (${PLATFORM_ADMIN})`, { scope });
      return refuse(key, method, "NOT_PLATFORM_OPERATOR", error);
    }
    req.contextValues.set(callerContextKey, caller);
    return next(req);
  };
}
