import { randomUUID } from "node:crypto";
import type { Span } from "@opentelemetry/api";
import { Code, ConnectError, type ConnectRouter, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { Authorization, type CheckRequest, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { failedKeySource } from "../abuse/failed-key-source.js";
import type { SlidingCounters } from "../abuse/sliding-counters.js";
import type { CachedKey } from "../cache/cached-key.js";
import type { KeyCache } from "../cache/key-cache.js";
import type { Config } from "../config/config.js";
import type { SecretHasher } from "../model/secret.js";
import type { CheckLimits } from "../limits/check-limits.js";
import type { Logger } from "../log/logger.js";
import { noCheckObserver, type CheckObserver, type ThrottleObserver } from "../metrics/observers.js";
import type { Clock } from "../time/clock.js";
import { dataPlaneCallerKey, type DataPlaneCaller, type DataPlaneGate } from "../rpc/data-plane-caller.js";
import { unaryRoute, type UnaryRoute } from "../rpc/unary-route.js";
import type { UsageRecorder } from "../usage/usage-event.js";
import type { CreditObserver } from "../webhooks/schedule/credit-notes.js";
import type { RateLimitObserver } from "../webhooks/schedule/rate-limit-notes.js";
import { checkInput, type CheckInput, type CheckRequestFields, type InputOptions } from "./check-input.js";
import { CheckRequestDecoder } from "./check-request-decoder.js";
import { toCheckResponse, type ResponseContext } from "./check-response.js";
import { CheckResponseEncoder } from "./check-response-encoder.js";
import { CheckTracing, endDecided, endFailed, withinCheckSpan } from "./check-tracing.js";
import { decide, screenRequest, type Decision, type IdentityLookup } from "./decision.js";
import { compileRouteTable } from "./route-table.js";

/**
 * envoy.service.auth.v3.Authorization/Check: a thin shell around the three pure steps
 * (request → input → decision → response). Every request gets a decision as an OK RPC. The only
 * RPC errors are real internal faults, left to Envoy's `failure_mode_allow`:
 *  - `unavailable` when the store (or the monthly usage seed) cannot be read for a key that is not
 *    cached: keygate cannot tell a valid key from an invalid one, and saying "invalid" would turn
 *    a store outage into 401s for every client;
 *  - `internal` for a bug, logged with its cause.
 */

export interface AuthorizationDeps {
  config: Pick<Config, "trustedProxyHops" | "routes">;
  hasher: SecretHasher;
  keyCache: KeyCache;
  limits: CheckLimits;
  clock: Clock;
  usage: UsageRecorder;
  logger: Logger;
  /** Metrics: each decision or failure with its latency; default none. */
  observer?: CheckObserver;
  /**
   * Failed-key attempts per source (src/abuse/failed-key-source.ts: the client IP, and the TCP
   * peer for callers outside the data plane's boundary): a source over the limit gets
   * API_KEY_INVALID for any key not already cached, without a store read. Default: no throttling.
   */
  failedKeys?: SlidingCounters;
  /**
   * How long one Check may wait for the store in all (KEYGATE_STORE_READ_TIMEOUT_MS): a cold key's
   * read and the limits' wait share it, so a slow read leaves the wait what is left. Default: no
   * shared budget (each wait has its own bound).
   */
  waitBudgetMs?: number;
  /** Told of each denial by a key's own rate limit, for `rate_limit.exceeded` (src/webhooks/schedule/); default none. */
  rateLimits?: RateLimitObserver;
  /** Told of the credit balances each Check saw, for `key.credits_low` (src/webhooks/schedule/); default none. */
  credits?: CreditObserver;
  /** Told of each unknown key answered without a lookup because its source was throttled; default none. */
  throttles?: ThrottleObserver;
  /** A span per Check (check-tracing.ts), only when tracing is configured; default none, and no span is built. */
  tracing?: CheckTracing;
  /**
   * A key's identity for its limits (src/cache/identity-cache.ts IdentityCache.lookup): cached,
   * or a load to wait for. Default: none, and keys spend their own limits only.
   */
  identities?: IdentityLookup;
}

/** Decision → response: the message for Connect, or its wire bytes for the lean gRPC path. */
type Respond<R> = (decision: Decision, context: ResponseContext) => R;

/** Paths recorded for usage are cut to this length (memory of per-endpoint counters). */
const MAX_USAGE_PATH_LENGTH = 1_024;

/** Waits for the limits one Check may make (see #afterLoading): its identity's load, then a lease or two. */
const MAX_LIMIT_WAITS = 3;
/**
 * The least a Check that has spent its budget still gives the limits: a moment, so that an ask
 * not answered by then counts as out of reach (the outage allowance decides) rather than as a
 * denial for want of an answer.
 */
const MIN_LIMIT_WAIT_MS = 1;

export class CheckService implements ServiceImpl<typeof Authorization> {
  readonly #deps: AuthorizationDeps;
  readonly #inputOptions: InputOptions;
  readonly #observer: CheckObserver;
  /** The lean path's response encoder, this service's own. */
  readonly #encode: Respond<Uint8Array>;

  constructor(deps: AuthorizationDeps) {
    this.#deps = deps;
    this.#observer = deps.observer ?? noCheckObserver;
    this.#inputOptions = { trustedProxyHops: deps.config.trustedProxyHops, routes: compileRouteTable(deps.config.routes) };
    const encoder = new CheckResponseEncoder();
    this.#encode = (decision, context) => encoder.encode(decision, context);
  }

  /** Connect's entry: Check in every protocol Connect speaks; the caller as the boundary's interceptor judged it. */
  async check(request: CheckRequest, context?: HandlerContext): Promise<CheckResponse> {
    return this.#run(request, toCheckResponse, context?.values.get(dataPlaneCallerKey) ?? dataPlaneCallerKey.defaultValue);
  }

  /**
   * The lean gRPC path's entry (src/server/grpc-unary.ts): the request as the lean decoder reads
   * it, the response as wire bytes. The same decision, usage, logs and metrics as `check`; on a
   * cache hit it answers synchronously, with no promise and no trip through the microtask queue.
   */
  checkFields(request: CheckRequestFields, caller: DataPlaneCaller): Uint8Array | Promise<Uint8Array> {
    return this.#run(request, this.#encode, caller);
  }

  #run<R>(request: CheckRequestFields, respond: Respond<R>, caller: DataPlaneCaller): R | Promise<R> {
    const tracing = this.#deps.tracing;
    if (tracing === undefined) return this.#decide(request, respond, caller, undefined);
    const checkSpan = tracing.start(request.attributes?.request?.http);
    return withinCheckSpan(checkSpan, () => this.#decide(request, respond, caller, checkSpan.span));
  }

  #decide<R>(request: CheckRequestFields, respond: Respond<R>, caller: DataPlaneCaller, span: Span | undefined): R | Promise<R> {
    const started = performance.now();
    const decisionId = randomUUID();
    try {
      const input = checkInput(request, this.#inputOptions);
      const screened = screenRequest(input);
      if ("outcome" in screened) return this.#respond(screened, input, caller, this.#deps.clock.now(), decisionId, started, respond, span);
      const hash = this.#deps.hasher.hash(screened.secret);
      const cached = this.#deps.keyCache.cached(hash);
      if (cached === undefined) return this.#afterLoading(input, caller, hash, undefined, decisionId, started, respond, span);
      // The cache answers: decide now, without yielding, so the limits see the request atomically.
      const nowMs = this.#deps.clock.now();
      const decision = decide(input, hash, cached, nowMs, this.#deps.limits, Infinity, this.#deps.identities);
      if ("waitFor" in decision) return this.#afterLoading(input, caller, hash, { entry: cached, wait: decision.waitFor }, decisionId, started, respond, span);
      return this.#respond(decision, input, caller, nowMs, decisionId, started, respond, span);
    } catch (error) {
      throw this.#failure(error, started, decisionId, span);
    }
  }

  /**
   * The key from the store first (`known` undefined), or what the limits wait for (a lease, or the
   * organization's monthly count); then the decision, which waits no more.
   */
  async #afterLoading<R>(
    input: CheckInput,
    caller: DataPlaneCaller,
    hash: string,
    known: { entry: CachedKey | null; wait: Promise<void> } | undefined,
    decisionId: string,
    started: number,
    respond: Respond<R>,
    span: Span | undefined,
  ): Promise<R> {
    try {
      let entry: CachedKey | null;
      let wait: Promise<void>;
      if (known !== undefined) {
        ({ entry, wait } = known);
      } else {
        entry = this.#throttled(input, caller) ? null : await this.#load(hash, decisionId);
        const nowMs = this.#deps.clock.now();
        const decision = decide(input, hash, entry, nowMs, this.#deps.limits, this.#waitLeftMs(started), this.#deps.identities);
        if (!("waitFor" in decision)) return this.#respond(decision, input, caller, nowMs, decisionId, started, respond, span);
        wait = decision.waitFor;
      }
      // Usually one wait. Another when the key's identity was loaded first, or when another of
      // the Check's limits changed while it waited (an answer about it landed meanwhile and it
      // now needs an ask of its own); the last decision waits no more.
      for (let waits = 1; ; waits++) {
        await this.#limitsReady(entry, wait, decisionId);
        // The key as it is now: a revoke or an update that landed during the wait counts.
        const current = this.#deps.keyCache.current(hash);
        if (current !== undefined) entry = current;
        // Read after the await: from here to the response nothing yields, so the limits see each
        // request atomically.
        const nowMs = this.#deps.clock.now();
        const decision = decide(input, hash, entry, nowMs, this.#deps.limits, waits < MAX_LIMIT_WAITS ? this.#waitLeftMs(started) : 0, this.#deps.identities);
        if (!("waitFor" in decision)) return this.#respond(decision, input, caller, nowMs, decisionId, started, respond, span);
        if (waits >= MAX_LIMIT_WAITS) throw new Error("the limits asked a Check to wait after their last wait");
        wait = decision.waitFor;
      }
    } catch (error) {
      throw this.#failure(error, started, decisionId, span);
    }
  }

  /** What is left of the Check's wait budget, never less than MIN_LIMIT_WAIT_MS. */
  #waitLeftMs(started: number): number {
    const budget = this.#deps.waitBudgetMs;
    return budget === undefined ? Infinity : Math.max(MIN_LIMIT_WAIT_MS, budget - (performance.now() - started));
  }

  /** The source used up its failed attempts: unknown keys from it are not looked up. */
  #throttled(input: CheckInput, caller: DataPlaneCaller): boolean {
    const throttled = this.#deps.failedKeys?.exceeded(failedKeySource(caller, input.clientIp)) ?? false;
    if (throttled) this.#deps.throttles?.throttled("check_failed_keys");
    return throttled;
  }

  #respond<R>(
    decision: Decision,
    input: CheckInput,
    caller: DataPlaneCaller,
    nowMs: number,
    decisionId: string,
    started: number,
    respond: Respond<R>,
    span: Span | undefined,
  ): R {
    if (decision.outcome === "API_KEY_INVALID") this.#deps.failedKeys?.add(failedKeySource(caller, input.clientIp));
    // The key's own limits only: an identity's limit running out is the identity's, not the key's.
    else if (decision.outcome === "RATE_LIMITED" && decision.line.owner === "key") this.#deps.rateLimits?.rateLimited(decision.entry, nowMs);
    else this.#noteBalances(decision);
    this.#record(decision, input, nowMs);
    if (this.#deps.logger.isLevelEnabled("debug")) {
      this.#deps.logger.debug(
        { decisionId, outcome: decision.outcome, keyId: decision.entry?.id, requestId: input.requestId, method: input.method },
        "check decided",
      );
    }
    const response = respond(decision, { headersToRemove: input.headersToRemove, nowMs, decisionId });
    this.#observer.decided(decision.outcome, (performance.now() - started) / 1000);
    if (span !== undefined) endDecided(span, decision, decisionId);
    return response;
  }

  /** The credit balances the Check saw, for key.credits_low; a key without credits (most) has none. */
  #noteBalances(decision: Decision): void {
    const credits = this.#deps.credits;
    if (credits === undefined) return;
    if (decision.outcome === "allowed") {
      for (const { line, left } of decision.credits) credits.creditSeen(decision.entry, line, left);
    } else if (decision.outcome === "CREDITS_EXHAUSTED" && decision.left !== null) {
      credits.creditSeen(decision.entry, decision.credit, decision.left);
    }
  }

  /** Reports a failed Check and gives the RPC error to throw. */
  #failure(error: unknown, started: number, decisionId: string, span: Span | undefined): ConnectError {
    const unavailable = error instanceof ConnectError && error.code === Code.Unavailable;
    this.#observer.failed(unavailable ? "unavailable" : "internal", (performance.now() - started) / 1000);
    let failure: ConnectError;
    if (error instanceof ConnectError) failure = error;
    else {
      this.#deps.logger.error({ err: error, decisionId }, "check failed");
      failure = new ConnectError("authorization check failed", Code.Internal, undefined, undefined, error);
    }
    if (span !== undefined) endFailed(span, failure.code, failure.rawMessage, decisionId);
    return failure;
  }

  async #load(hash: string, decisionId: string): Promise<CachedKey | null> {
    try {
      return await this.#deps.keyCache.load(hash);
    } catch (error) {
      this.#deps.logger.error({ err: error, decisionId }, "key store unavailable for an uncached key");
      throw new ConnectError("key store unavailable", Code.Unavailable, undefined, undefined, error);
    }
  }

  /** Waits for what the limits need; one that cannot be had (the monthly usage or the key's identity unreadable) makes the Check unavailable. */
  async #limitsReady(entry: CachedKey | null, wait: Promise<void>, decisionId: string): Promise<void> {
    try {
      await wait;
    } catch (error) {
      this.#deps.logger.error({ err: error, decisionId, organizationId: entry?.organizationId, identityId: entry?.identityId }, "monthly usage or identity unavailable");
      throw new ConnectError("monthly usage or identity unavailable", Code.Unavailable, undefined, undefined, error);
    }
  }

  #record(decision: Decision, input: CheckInput, nowMs: number): void {
    if (decision.entry === null) return;
    try {
      this.#deps.usage.record({
        keyId: decision.entry.id,
        organizationId: decision.entry.organizationId,
        method: input.method,
        path: input.path.length > MAX_USAGE_PATH_LENGTH ? input.path.slice(0, MAX_USAGE_PATH_LENGTH) : input.path,
        outcome: decision.outcome,
        atMs: nowMs,
        ...(input.requestBytes !== undefined && { requestBytes: input.requestBytes }),
      });
    } catch (error) {
      // Losing one usage count must not turn a decision into a failed RPC.
      this.#deps.logger.error({ err: error, keyId: decision.entry.id }, "usage recording failed");
    }
  }
}

/** The Check service as the servers take it. Both ways let only callers through that the data plane's boundary admits. */
export interface AuthorizationRoutes {
  /** Registers Check on a Connect router: every protocol Connect speaks. */
  readonly routes: (router: ConnectRouter) => void;
  /**
   * Check on the server's lean gRPC path (src/server/grpc-unary.ts, HttpServerOptions.unaryRoutes),
   * which is how Envoy's calls are served.
   */
  readonly unaryRoute: UnaryRoute;
}

/** One Check service, on Connect's router and on the lean gRPC path. */
export function authorizationRoutes(deps: AuthorizationDeps, boundary: DataPlaneGate): AuthorizationRoutes {
  const service = new CheckService(deps);
  const decoder = new CheckRequestDecoder(deps.tracing === undefined ? [] : CheckTracing.headers());
  return {
    routes: (router) => router.service(Authorization, service, { interceptors: [boundary.interceptor] }),
    unaryRoute: unaryRoute(Authorization.method.check, {
      admit: (headers, peer) => boundary.admit(headers.authorization, peer, Authorization.method.check.name),
      decode: (bytes) => decoder.decode(bytes),
      call: (request, caller) => service.checkFields(request, caller),
    }),
  };
}
