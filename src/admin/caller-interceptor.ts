import type { ConnectError, Interceptor } from "@connectrpc/connect";
import type { AuditTrail } from "../audit/audit-trail.js";
import { clientAddressKey } from "../net/client-address.js";
import { admissionRefusalKey, undecodableMessageKey } from "../rpc/rpc-admission.js";
import type { KeyRecord } from "../model/records.js";
import { admittedCallerKey, auditFailedAuthentication, type AuthenticateCaller } from "./authenticate-caller.js";
import { callerContextKey } from "./caller.js";
import { refusalError } from "./errors.js";
import { mayCall } from "./policy.js";

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
 * key's organization. Then a request message that did not decode (src/server/rpc-adapter.ts).
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
    // Which RPC the key may call is the policy's to say: its scopes as its user's limits bound them.
    const decision = mayCall(caller.actor, method, req.service.typeName);
    if (!decision.allowed) return refuse(caller.key, method, decision.rule, refusalError(decision));
    // A message that did not decode is the caller's mistake, told only to a caller who may make the call.
    const undecodable = req.contextValues.get(undecodableMessageKey);
    if (undecodable !== undefined) throw undecodable.thrown;
    req.contextValues.set(callerContextKey, caller);
    return next(req);
  };
}
