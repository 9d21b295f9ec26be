import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { clientAddressKey } from "../net/client-address.js";
import type { Plan } from "../model/plans.js";
import { admissionRefusalKey } from "../rpc/rpc-admission.js";
import type { KeyRecord, Organization, User } from "../model/records.js";
import { refusalError } from "./errors.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import { admittedCallerKey, auditFailedAuthentication, type AuthenticateCaller } from "./authenticate-caller.js";
import { mayCall, type Actor } from "./policy.js";

/** Who is calling the admin API: the authenticated key, its organization, user and plan. */
export interface Caller {
  key: KeyRecord;
  organization: Organization;
  user: User;
  plan: Plan;
  /** A platform operator: the key holds platform:admin in the platform organization. */
  operator: boolean;
  /** The key's rights as the policy weighs them (src/admin/policy.ts). */
  actor: Actor;
}

export const callerContextKey = createContextKey<Caller | undefined>(undefined, { description: "authenticated admin caller" });

/** The admin caller of a request; the authentication interceptor guarantees it is set. */
export function callerOf(context: { values: { get<T>(key: { id: symbol; defaultValue: T }): T } }): Caller {
  const caller = context.values.get(callerContextKey);
  if (!caller) throw new ConnectError("request reached a handler without authentication", Code.Internal);
  return caller;
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
    // Which RPC the key may call is the policy's to say: its scopes as its user's limits bound them.
    const decision = mayCall(caller.actor, method, req.service.typeName);
    if (!decision.allowed) return refuse(caller.key, method, decision.rule, refusalError(decision));
    req.contextValues.set(callerContextKey, caller);
    return next(req);
  };
}
