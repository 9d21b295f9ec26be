import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { clientAddressKey } from "../abuse/client-address.js";
import { ipSource, type SlidingCounters } from "../abuse/sliding-counters.js";
import type { Plan } from "../config/plans.js";
import type { ScopeDefinition } from "../config/scopes.js";
import { keyStatus } from "../keys/key-status.js";
import { isWellFormedSecret, type SecretHasher } from "../keys/secret.js";
import type { Store } from "../store/store.js";
import type { KeyRecord, Organization, User } from "../store/types.js";
import type { Clock } from "../time/clock.js";
import type { Logger } from "../log/logger.js";
import { isPlatformOperator } from "../tenancy/platform.js";
import { adminError, refusalError } from "./errors.js";
import type { AuditTrail } from "./audit-trail.js";
import { actorOf, mayCall, type Actor } from "./policy.js";

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

const BEARER = /^bearer\s+(\S+)\s*$/i;

/** The secret from `Authorization: Bearer …`, else `X-API-Key`. */
export function presentedSecret(header: Headers): string | undefined {
  const bearer = BEARER.exec(header.get("authorization") ?? "")?.[1];
  if (bearer) return bearer;
  const apiKey = header.get("x-api-key")?.trim();
  return apiKey ? apiKey : undefined;
}

export interface CallerAuthenticationDeps {
  store: Store;
  hasher: SecretHasher;
  clock: Clock;
  plans: readonly Plan[];
  /** The scope catalog: a caller acts only with the catalog scopes its user may hold. */
  scopes: readonly ScopeDefinition[];
  audit: AuditTrail;
  logger: Logger;
  /**
   * Failed authentications per client address (an IPv6 /64; src/abuse): past the limit a client
   * is answered `resource_exhausted` without a store read. Default: no throttling.
   */
  failedAuth?: SlidingCounters;
  /** Requests per authenticated caller key: past the limit `resource_exhausted`. Default: none. */
  callerRequests?: SlidingCounters;
}

/**
 * Authenticates every KeyAdminService and OperatorService call and puts the Caller into the
 * context. Failures are `unauthenticated` (no usable key) or `permission_denied` (a valid key
 * without the admin scope the method needs, or not a platform operator's); those of a known key
 * are audited in its organization, those of unknown keys belong to no organization and are logged.
 */
export function callerAuthentication(deps: CallerAuthenticationDeps): Interceptor {
  const unauthenticated = (why: string) => adminError("UNAUTHENTICATED", why);

  async function refuse(key: KeyRecord, method: string, reason: string, error: ConnectError): Promise<never> {
    await deps.audit.record({
      organizationId: key.organizationId,
      action: "auth.failed",
      actorKeyId: key.id,
      actorUserId: key.ownerUserId,
      keyId: key.id,
      details: { method, reason },
    });
    throw error;
  }

  return (next) => async (req) => {
    const method = req.method.name;
    const client = ipSource(req.contextValues.get(clientAddressKey));
    const secret = presentedSecret(req.header);
    if (secret === undefined) throw unauthenticated("missing API key: send Authorization: Bearer <key> or X-API-Key");
    if (deps.failedAuth?.exceeded(client)) {
      deps.logger.warn({ method, client }, "admin authentication throttled: too many failed attempts");
      throw adminError("UNAUTHENTICATED", "too many failed authentication attempts; retry later", {}, Code.ResourceExhausted);
    }
    if (!isWellFormedSecret(secret)) {
      deps.failedAuth?.add(client);
      deps.logger.warn({ method, reason: "malformed" }, "admin authentication failed");
      throw unauthenticated("invalid API key");
    }
    const hash = deps.hasher.hash(secret);
    const key = await deps.store.keys.findByHash(hash);
    if (!key) {
      deps.failedAuth?.add(client);
      deps.logger.warn({ method, reason: "unknown" }, "admin authentication failed");
      throw unauthenticated("invalid API key");
    }
    const status = keyStatus(key, hash, deps.clock.now());
    if (status !== "valid") {
      deps.failedAuth?.add(client);
      const why = status === "API_KEY_INVALID" ? "invalid API key" : `API key is ${status.slice("API_KEY_".length).toLowerCase()}`;
      return refuse(key, method, status, unauthenticated(why));
    }
    // RegenerateKey's grace period keeps a replaced secret working for Check and TestKey only:
    // the admin API refuses it, so a leaked secret cannot rotate or revoke its key again.
    if (hash !== key.secretHash) {
      return refuse(key, method, "SECRET_SUPERSEDED", unauthenticated("this secret was replaced by a regeneration: it works for Check and TestKey until its grace period ends, not for the admin API"));
    }
    const waitMs = deps.callerRequests?.take(key.id) ?? 0;
    if (waitMs > 0) {
      throw adminError("API_KEY_LIMIT_EXCEEDED", `admin request rate limit of this key reached; retry in ${Math.ceil(waitMs / 1000)} s`, {
        limit: "admin_requests_per_minute",
        retry_after_seconds: String(Math.ceil(waitMs / 1000)),
      }, Code.ResourceExhausted);
    }
    const [organization, user] = await Promise.all([
      deps.store.organizations.findById(key.organizationId),
      deps.store.users.findById(key.organizationId, key.ownerUserId),
    ]);
    const plan = deps.plans.find((p) => p.name === organization?.plan);
    if (!organization || !user || !plan) {
      return refuse(key, method, "OWNER_UNKNOWN", unauthenticated("API key's organization or user no longer exists"));
    }
    // Which RPC the key may call is the policy's to say: its scopes as its user's limits bound them.
    const operator = isPlatformOperator(key, organization);
    const actor = actorOf({ key, user, plan, operator }, deps.scopes);
    const decision = mayCall(actor, method, req.service.typeName);
    if (!decision.allowed) return refuse(key, method, decision.rule, refusalError(decision));
    req.contextValues.set(callerContextKey, { key, organization, user, plan, operator, actor });
    return next(req);
  };
}
