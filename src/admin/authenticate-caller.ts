import { Code, ConnectError, createContextKey } from "@connectrpc/connect";
import { OneAtATime } from "../abuse/one-at-a-time.js";
import { clientAddressKey } from "../net/client-address.js";
import { ipSource, type SlidingCounters } from "../abuse/sliding-counters.js";
import type { IpAddress } from "../net/ip-allow-list.js";
import { findPlan, type Plan } from "../model/plans.js";
import type { ScopeDefinition } from "../model/scopes.js";
import { keyStatus, secretGeneration } from "../model/key-state.js";
import { isWellFormedSecret, type SecretHasher } from "../model/secret.js";
import type { Logger } from "../log/logger.js";
import type { RpcAdmission } from "../rpc/rpc-admission.js";
import type { Store } from "../store/store.js";
import type { ThrottleObserver } from "../metrics/observers.js";
import type { KeyRecord } from "../model/records.js";
import { isPlatformOperator } from "../model/platform.js";
import type { Clock } from "../time/clock.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { Caller } from "./caller.js";
import { actorOf } from "./policy.js";
import { adminError } from "./errors.js";
import { jsonDecodeError } from "./json-decode-error.js";

/**
 * Who is calling the admin API, from the request's headers alone: the key presented, its state,
 * its organization, user and plan. It runs before the request's body is read (callerAdmission),
 * so a caller without a valid key never makes keygate read or parse a body; what the caller may
 * do with that key is decided afterwards (src/admin/caller-interceptor.ts).
 *
 * Failed keys are throttled per client address (src/abuse). A throttled address is refused for
 * every key that fails, yet a valid key behind it still authenticates: a neighbour's bad keys
 * must not lock out everyone behind the same NAT or proxy. Telling a valid key from a bad one
 * takes a store lookup, so a throttled address's lookups run one at a time (OneAtATime): its
 * store cost is one point read in flight, however many requests it sends, and its requests
 * queue behind its own. The queue holds at most THROTTLED_LOOKUPS_QUEUED; a request beyond it is
 * refused as throttled without a lookup (a valid key among them gets through once it drains).
 */

export interface CallerAuthenticationDeps {
  store: Store;
  hasher: SecretHasher;
  clock: Clock;
  plans: readonly Plan[];
  /** The scope catalog: a caller acts only with the catalog scopes its user may hold. */
  scopes: readonly ScopeDefinition[];
  audit: AuditTrail;
  logger: Logger;
  /** Failed authentications per client address (an IPv6 /64; src/abuse). Default: no throttling. */
  failedAuth?: SlidingCounters;
  /** Requests per authenticated caller key: past the limit `resource_exhausted`. Default: none. */
  callerRequests?: SlidingCounters;
  /** Told of each call either throttle refused (metrics); default none. */
  throttles?: ThrottleObserver;
}

/** Authenticates one call of `method` from its headers and client address; throws the refusal. */
export type AuthenticateCaller = (header: Headers, client: IpAddress | null, method: string) => Promise<Caller>;

/** The caller authenticated before the body was read, for the authorization interceptor. */
export const admittedCallerKey = createContextKey<Caller | undefined>(undefined, { description: "caller authenticated from the headers" });

const BEARER = /^bearer\s+(\S+)\s*$/i;

/** The secret from `Authorization: Bearer …`, else `X-API-Key`. */
export function presentedSecret(header: Headers): string | undefined {
  const bearer = BEARER.exec(header.get("authorization") ?? "")?.[1];
  if (bearer) return bearer;
  const apiKey = header.get("x-api-key")?.trim();
  return apiKey ? apiKey : undefined;
}

/** Records a refused call of a known key in its organization's audit trail. */
export async function auditFailedAuthentication(audit: AuditTrail, key: KeyRecord, method: string, reason: string): Promise<void> {
  await audit.record({
    organizationId: key.organizationId,
    action: "auth.failed",
    actorKeyId: key.id,
    actorUserId: key.ownerUserId,
    keyId: key.id,
    details: { method, reason },
  });
}

/** Lookups a throttled client address may have waiting or running at once. */
const THROTTLED_LOOKUPS_QUEUED = 32;

export function callerAuthenticator(deps: CallerAuthenticationDeps): AuthenticateCaller {
  const throttledLookups = new OneAtATime(THROTTLED_LOOKUPS_QUEUED);
  const unauthenticated = (why: string) => adminError("UNAUTHENTICATED", why);

  return async (header, clientIp, method) => {
    const client = ipSource(clientIp);
    /** Counts a failed attempt; the error for it: `resource_exhausted` once the address is throttled. */
    const failed = (why: string): ConnectError => {
      const throttled = deps.failedAuth?.exceeded(client) ?? false;
      deps.failedAuth?.add(client);
      if (!throttled) return unauthenticated(why);
      return throttledError();
    };
    const throttledError = (): ConnectError => {
      deps.throttles?.throttled("admin_failed_authentications");
      deps.logger.warn({ method, client }, "admin authentication throttled: too many failed attempts");
      return adminError("UNAUTHENTICATED", "too many failed authentication attempts; retry later", {}, Code.ResourceExhausted);
    };
    const refuse = async (key: KeyRecord, reason: string, why: string): Promise<never> => {
      const error = failed(why);
      await auditFailedAuthentication(deps.audit, key, method, reason);
      throw error;
    };

    const secret = presentedSecret(header);
    if (secret === undefined) throw unauthenticated("missing API key: send Authorization: Bearer <key> or X-API-Key");
    if (!isWellFormedSecret(secret)) {
      deps.logger.warn({ method, reason: "malformed" }, "admin authentication failed");
      throw failed("invalid API key");
    }
    const hash = deps.hasher.hash(secret);
    const lookup = () => deps.store.keys.findByHash(hash);
    let pending: Promise<KeyRecord | null> | undefined;
    if (deps.failedAuth?.exceeded(client)) {
      pending = throttledLookups.run(client, lookup);
      // Its queue is full: refused unlooked-up, and not counted, since nobody knows it failed.
      if (pending === undefined) throw throttledError();
    }
    const key = await (pending ?? lookup());
    if (!key) {
      deps.logger.warn({ method, reason: "unknown" }, "admin authentication failed");
      throw failed("invalid API key");
    }
    const nowMs = deps.clock.now();
    const status = keyStatus(key, hash, nowMs);
    if (status !== "valid") {
      return refuse(key, status, status === "API_KEY_INVALID" ? "invalid API key" : `API key is ${status.slice("API_KEY_".length).toLowerCase()}`);
    }
    // RegenerateKey's grace period keeps the old secret working where it is used to call APIs
    // (Check, TestKey), not as an admin credential: else it could rotate its key again and lock
    // out the holder of the new secret.
    if (secretGeneration(key, hash, nowMs) === "superseded") {
      return refuse(key, "SECRET_SUPERSEDED", "this secret was replaced by RegenerateKey: it works for Check and TestKey until its grace period ends, not for the admin API");
    }
    const waitMs = deps.callerRequests?.take(key.id) ?? 0;
    if (waitMs > 0) {
      deps.throttles?.throttled("admin_requests");
      throw adminError("API_KEY_LIMIT_EXCEEDED", `admin request rate limit of this key reached; retry in ${Math.ceil(waitMs / 1000)} s`, {
        limit: "admin_requests_per_minute",
        retry_after_seconds: String(Math.ceil(waitMs / 1000)),
      }, Code.ResourceExhausted);
    }
    const [organization, user] = await Promise.all([
      deps.store.organizations.findById(key.organizationId),
      deps.store.users.findById(key.organizationId, key.ownerUserId),
    ]);
    if (!organization || !user) {
      await auditFailedAuthentication(deps.audit, key, method, "OWNER_UNKNOWN");
      throw unauthenticated("API key's organization or user no longer exists");
    }
    // Refused rather than held to another plan: the plan bounds what this caller may grant
    // (organizationPlan in src/model/plans.ts says why Check differs).
    const plan = findPlan(deps.plans, organization.plan);
    if (plan === undefined) {
      await auditFailedAuthentication(deps.audit, key, method, "PLAN_NOT_CONFIGURED");
      deps.logger.warn({ organizationId: organization.id, plan: organization.plan }, "admin caller refused: the organization's plan is not configured");
      throw unauthenticated(
        `the organization's plan "${organization.plan}" is not configured on this server; ` +
          "an operator must configure it or move the organization to a configured plan (SetOrganizationPlan)",
      );
    }
    const operator = isPlatformOperator(key, organization);
    return { key, organization, user, plan, operator, actor: actorOf({ key, user, plan, operator }, deps.scopes) };
  };
}

/**
 * The admission of the admin services (src/rpc/rpc-admission.ts): the caller is authenticated
 * from the headers before the body is read, once; the interceptor takes it from the context.
 */
export function callerAdmission(authenticate: AuthenticateCaller, maxBody: RpcAdmission["maxBody"]): RpcAdmission {
  return {
    maxBody,
    undecodable: jsonDecodeError,
    async admit({ method, header, contextValues }) {
      contextValues.set(admittedCallerKey, await authenticate(header, contextValues.get(clientAddressKey), method.name));
    },
  };
}
