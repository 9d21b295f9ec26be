import { randomUUID } from "node:crypto";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { Authorization, type CheckRequest, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import type { KeyCache, KeyCacheEntry } from "../cache/key-cache.js";
import type { Config } from "../config/config.js";
import type { SecretHasher } from "../keys/secret.js";
import type { CheckLimits } from "../limits/check-limits.js";
import type { Logger } from "../log/logger.js";
import { noCheckObserver, type CheckObserver } from "../metrics/observers.js";
import type { Clock } from "../time/clock.js";
import type { UsageRecorder } from "../usage/usage-event.js";
import { checkInput, type CheckInput, type InputOptions } from "./check-input.js";
import { toCheckResponse } from "./check-response.js";
import { decide, screenKey, type Decision } from "./decision.js";
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
}

/** Paths recorded for usage are cut to this length (memory of per-endpoint counters). */
const MAX_USAGE_PATH_LENGTH = 1_024;

export class CheckService implements ServiceImpl<typeof Authorization> {
  readonly #deps: AuthorizationDeps;
  readonly #inputOptions: InputOptions;
  readonly #observer: CheckObserver;

  constructor(deps: AuthorizationDeps) {
    this.#deps = deps;
    this.#observer = deps.observer ?? noCheckObserver;
    this.#inputOptions = { trustedProxyHops: deps.config.trustedProxyHops, routes: compileRouteTable(deps.config.routes) };
  }

  async check(request: CheckRequest): Promise<CheckResponse> {
    const started = performance.now();
    const decisionId = randomUUID();
    try {
      const input = checkInput(request, this.#inputOptions);
      const screened = screenKey(input.key);
      let decision: Decision;
      let nowMs: number;
      if ("outcome" in screened) {
        decision = screened;
        nowMs = this.#deps.clock.now();
      } else {
        const hash = this.#deps.hasher.hash(screened.secret);
        const entry = await this.#entry(hash, decisionId);
        if (entry !== null) await this.#quotaReady(entry, decisionId);
        // Read after the awaits: from here to the response nothing yields, so the limits
        // see each request atomically.
        nowMs = this.#deps.clock.now();
        decision = decide(input, hash, entry, nowMs, this.#deps.limits);
      }
      this.#record(decision, input, nowMs);
      if (this.#deps.logger.isLevelEnabled("debug")) {
        this.#deps.logger.debug(
          { decisionId, outcome: decision.outcome, keyId: decision.entry?.key.id, requestId: input.requestId, method: input.method },
          "check decided",
        );
      }
      const response = toCheckResponse(decision, { headersToRemove: input.headersToRemove, nowMs, decisionId });
      this.#observer.decided(decision.outcome, (performance.now() - started) / 1000);
      return response;
    } catch (error) {
      const unavailable = error instanceof ConnectError && error.code === Code.Unavailable;
      this.#observer.failed(unavailable ? "unavailable" : "internal", (performance.now() - started) / 1000);
      if (error instanceof ConnectError) throw error;
      this.#deps.logger.error({ err: error, decisionId }, "check failed");
      throw new ConnectError("authorization check failed", Code.Internal, undefined, undefined, error);
    }
  }

  async #entry(hash: string, decisionId: string): Promise<KeyCacheEntry | null> {
    const cached = this.#deps.keyCache.cached(hash);
    if (cached !== undefined) return cached;
    try {
      return await this.#deps.keyCache.load(hash);
    } catch (error) {
      this.#deps.logger.error({ err: error, decisionId }, "key store unavailable for an uncached key");
      throw new ConnectError("key store unavailable", Code.Unavailable, undefined, undefined, error);
    }
  }

  async #quotaReady(entry: KeyCacheEntry, decisionId: string): Promise<void> {
    const ready = this.#deps.limits.ready(entry.key.organizationId, this.#deps.clock.now());
    if (ready === undefined) return;
    try {
      await ready;
    } catch (error) {
      this.#deps.logger.error({ err: error, decisionId, organizationId: entry.key.organizationId }, "monthly usage unavailable");
      throw new ConnectError("monthly usage unavailable", Code.Unavailable, undefined, undefined, error);
    }
  }

  #record(decision: Decision, input: CheckInput, nowMs: number): void {
    if (decision.entry === null) return;
    try {
      this.#deps.usage.record({
        keyId: decision.entry.key.id,
        organizationId: decision.entry.key.organizationId,
        method: input.method,
        path: input.path.length > MAX_USAGE_PATH_LENGTH ? input.path.slice(0, MAX_USAGE_PATH_LENGTH) : input.path,
        outcome: decision.outcome,
        atMs: nowMs,
        ...(input.requestBytes !== undefined && { requestBytes: input.requestBytes }),
      });
    } catch (error) {
      // Losing one usage count must not turn a decision into a failed RPC.
      this.#deps.logger.error({ err: error, keyId: decision.entry.key.id }, "usage recording failed");
    }
  }
}

/** Registers the Check service on a Connect router (served over gRPC to Envoy). */
export function authorizationRoutes(deps: AuthorizationDeps): (router: ConnectRouter) => void {
  const service = new CheckService(deps);
  return (router) => {
    router.service(Authorization, service);
  };
}
