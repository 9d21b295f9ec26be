import { randomBytes } from "node:crypto";
import type { Tracer } from "@opentelemetry/api";
import { createContextValues, type ConnectRouter } from "@connectrpc/connect";
import { AccessLogService } from "../gen/envoy/service/accesslog/v3/als_pb.js";
import { Authorization } from "../gen/envoy/service/auth/v3/external_auth_pb.js";
import { KeyAdminService } from "../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../gen/keygate/v1/operator_pb.js";
import { clientContextValues, TrustedProxies } from "./net/client-address.js";
import { SlidingCounters } from "./abuse/sliding-counters.js";
import { AuditTrail } from "./audit/audit-trail.js";
import { callerAdmission, callerAuthenticator } from "./admin/authenticate-caller.js";
import { callerAuthentication } from "./admin/caller-interceptor.js";
import { IdempotentChanges } from "./admin/idempotent-changes.js";
import { keyAdministration } from "./admin/key-admin-service.js";
import { noStore } from "./admin/no-store.js";
import { operatorService } from "./admin/operator-service.js";
import { PageTokens } from "./admin/page-token.js";
import { rpcLogging } from "./admin/rpc-logging.js";
import { rpcTracing } from "./admin/rpc-tracing.js";
import { tracedAdmission } from "./admin/traced-admission.js";
import { UsageWatchers } from "./admin/usage/usage-watchers.js";
import { authorizationRoutes } from "./authz/check-service.js";
import { CheckTracing } from "./authz/check-tracing.js";
import { Webhooks } from "./webhooks/webhooks.js";
import { ChangeFeed } from "./cache/change-feed.js";
import { IdentityCache } from "./cache/identity-cache.js";
import { compileRouteTable } from "./authz/route-table.js";
import { KeyCache } from "./cache/key-cache.js";
import { consoleHandler } from "./console/console-handler.js";
import type { Config } from "./config/config.js";
import { ReceiptSealing } from "./crypto/receipt-sealing.js";
import { secretEncryptionFrom } from "./crypto/secret-encryption.js";
import { KeyEvents } from "./keys/key-events.js";
import { SecretHasher } from "./model/secret.js";
import type { CheckLimits } from "./limits/check-limits.js";
import { LeasedLimits } from "./limits/leased-limits.js";
import { LocalLimits } from "./limits/local-limits.js";
import type { Logger } from "./log/logger.js";
import { Metrics } from "./metrics/metrics.js";
import { metricsEndpoint } from "./server/metrics-endpoint.js";
import { secretScanningEndpoint } from "./server/secret-scanning-endpoint.js";
import { GithubKeysFile } from "./leaks/github-keys-file.js";
import { SecretScanning } from "./leaks/secret-scanning.js";
import { ActOnLeaks } from "./leaks/act-on-leaks.js";
import { leakMetrics } from "./leaks/leak-metrics.js";
import { rpcMetrics } from "./metrics/rpc-metrics.js";
import { instrumentStore } from "./metrics/store-metrics.js";
import { DEFAULT_READ_MAX_BYTES } from "./config/body-limits.js";
import { DataPlaneBoundary, withTransportPeer } from "./server/data-plane-boundary.js";
import { BodyBudget } from "./server/body-budget.js";
import { healthRoutes } from "./server/health-service.js";
import { REFLECTION_SERVICES, reflectionRoutes } from "./server/reflection-service.js";
import { HttpServer } from "./server/http-server.js";
import { Readiness } from "./server/readiness.js";
import type { RpcAdmission } from "./rpc/rpc-admission.js";
import type { Store } from "./store/store.js";
import { systemClock, type Clock } from "./time/clock.js";
import { createUsage, type Usage } from "./usage/usage-module.js";

/**
 * Wires keygate's parts together around a store that is already initialised. Everything a test
 * needs to reach (the store, the key events, the cache) is on the returned App.
 */
export interface AppOptions {
  config: Config;
  store: Store;
  logger: Logger;
  clock?: Clock;
  /** OpenTelemetry's tracer when tracing is configured (src/trace/tracing-sdk.ts); without it no span is built. */
  tracer?: Tracer;
}

export interface App {
  readonly port: number;
  /** http://host:port of the listening server. */
  readonly url: string;
  /** KEYGATE_DATA_PLANE_PORT's listener (Check, the access log, health); undefined: they are on `port`. */
  readonly dataPlanePort: number | undefined;
  /** http:// or, with TLS, https://host:port of that listener. */
  readonly dataPlaneUrl: string | undefined;
  readonly store: Store;
  readonly keyEvents: KeyEvents;
  readonly keyCache: KeyCache;
  readonly readiness: Readiness;
  readonly hasher: SecretHasher;
  /** The Prometheus registry behind GET /metrics, this app's own. */
  readonly metrics: Metrics;
  /** Usage recording (flush it to see the latest counts in the store) and its metrics. */
  readonly usage: Usage;
  /** Stops taking traffic, lets calls finish, then releases everything; the store stays open. */
  close(): Promise<void>;
}

const READINESS_INTERVAL_MS = 2_000;

export async function startApp(options: AppOptions): Promise<App> {
  const { config, logger } = options;
  // Read first: a missing or invalid keys file fails the start before anything is running.
  const scanningKeys = config.secretScanningKeysFile === undefined ? undefined : await GithubKeysFile.open(config.secretScanningKeysFile, logger);
  const metrics = new Metrics();
  const store = instrumentStore(options.store, metrics.store, undefined, options.tracer);
  const clock = options.clock ?? systemClock;
  const hasher = new SecretHasher(config.pepper);
  // Key changes made inside a store unit of work are announced once it has committed.
  const keyEvents = new KeyEvents((announce) => store.afterCommit(announce));
  const readiness = new Readiness(store);
  const keyCache = new KeyCache({ store, keyEvents, clock, config, logger, observer: metrics.keyCache });
  // Keys' identities, for the limits they share (docs/limits.md): read once, followed by the change feed.
  const identityCache = new IdentityCache({ loadIdentity: (organizationId, id) => store.identities.findById(organizationId, id), ttlMs: config.cacheTtlMs });
  keyEvents.onIdentityChange((identityId) => identityCache.invalidate(identityId));
  metrics.watchKeyCache(keyCache);
  // Other processes' key changes, when they share the store; a store of this process alone has none.
  const changeFeed = store.sharedAcrossProcesses
    ? new ChangeFeed({ changes: store.changes, keyCache, identityCache, intervalMs: config.changePollIntervalMs, logger, observer: metrics.changeFeed })
    : undefined;
  const usage = createUsage({ config, store, clock, logger });
  metrics.watchUsage(usage.recorder, usage.metrics);
  // Other processes sharing the store count the same keys: each leases slices of every limit from
  // the store. A store of this process alone has no others, and this process counts exactly by itself.
  const limits: CheckLimits = store.sharedAcrossProcesses
    ? new LeasedLimits({
        leases: store.budgets,
        replicas: store.replicas,
        clock,
        holder: randomBytes(12).toString("base64url"),
        waitMs: config.storeReadTimeoutMs,
        outageAllowance: config.limitsOutageAllowance,
        logger,
        observer: metrics.limits,
        loadMonthlyRequests: usage.loadStoredMonthlyRequests,
      })
    : new LocalLimits({ clock, loadMonthlyRequests: usage.loadMonthlyRequests });
  const audit = new AuditTrail(store, clock);
  // Webhooks: the outbox's dispatcher and the scheduled events, beside the server (src/webhooks/).
  const webhooks = new Webhooks({
    store,
    pepper: config.pepper,
    allowInsecureTargets: config.webhookAllowInsecureTargets,
    scheduleIntervalMs: config.webhookScheduleIntervalMs,
    plans: config,
    audit,
    keyEvents,
    usage: usage.recorder,
    registry: metrics.registry,
    clock,
    logger,
  });
  // Abuse bounds (src/abuse): failed keys per source IP, admin requests per caller key.
  const throttle = (limit: number) => new SlidingCounters({ limit, windowMs: 60_000, maxSources: config.throttleMaxSources });
  const failedKeys = throttle(config.failedKeyAttemptsPerMinute);
  const failedAuth = throttle(config.failedKeyAttemptsPerMinute);
  const callerRequests = throttle(config.adminRequestsPerMinute);
  metrics.watchThrottles({ check_failed_keys: failedKeys, admin_failed_authentications: failedAuth, admin_requests: callerRequests });
  const authenticateCaller = callerAuthenticator({
    store,
    hasher,
    clock,
    plans: config.plans,
    scopes: config.scopes,
    audit,
    logger,
    failedAuth,
    callerRequests,
    throttles: metrics.throttles,
  });
  const authentication = callerAuthentication({ authenticate: authenticateCaller, audit });
  // Change RPCs sent with an idempotency key answer a retry with their first answer.
  const idempotentChanges = new IdempotentChanges({ store, sealing: new ReceiptSealing(config.pepper), clock });
  // The admin services authenticate their caller from the headers, before the body is read.
  const callerFromHeaders = callerAdmission(authenticateCaller, { bytes: config.adminMaxBodyBytes, origin: "KEYGATE_ADMIN_MAX_BODY_BYTES" });
  const adminAdmission = options.tracer ? tracedAdmission(callerFromHeaders, options.tracer) : callerFromHeaders;
  const bodies = new BodyBudget({ maxBytesPerConnection: config.bodyBufferBytesPerConnection, maxBytesPerProcess: config.bodyBufferBytesPerProcess });
  metrics.watchRequestBodies(bodies);

  const encryption = secretEncryptionFrom(config);
  // Aborted when shutdown begins: open WatchUsage streams end, before the server drains.
  const endWatchStreams = new AbortController();
  const keyAdmin = keyAdministration({
    store,
    hasher,
    clock,
    scopes: config.scopes,
    audit,
    keyEvents,
    pageTokens: new PageTokens(config.pepper),
    encryption,
    logger,
    peekLimits: (key, identity, nowMs) => limits.peekLimits(key, identity, nowMs),
    creditsLeft: (line) => limits.creditsLeft(line),
    usage: {
      recorder: usage.recorder,
      limits,
      alertThresholds: config.usageAlertThresholds,
      watchHeartbeatMs: config.usageWatchHeartbeatMs,
      stopping: endWatchStreams.signal,
      watchers: new UsageWatchers({
        usage: store.usage,
        clock,
        maxStreamsPerKey: config.usageWatchMaxStreamsPerKey,
        maxStreamsPerOrganization: config.usageWatchMaxStreamsPerOrganization,
        // Other replicas' flushes show in "today" at most one flush interval late.
        maxAgeMs: config.usageFlushIntervalMs,
      }),
    },
  }, webhooks);

  const operator = operatorService({
    store,
    hasher,
    clock,
    scopes: config.scopes,
    plans: config.plans,
    defaultPlan: config.defaultPlan,
    audit,
    logger,
    keyEvents,
    encryption,
  });

  // The data plane (Check, the access log) trusts only callers that pass its boundary; on a
  // listener of its own when KEYGATE_DATA_PLANE_PORT is set (src/server/data-plane-boundary.ts).
  const ownDataPlaneListener = config.dataPlane.port !== undefined;
  const boundary = new DataPlaneBoundary({
    token: config.dataPlane.token,
    previousToken: config.dataPlane.previousToken,
    ownListener: ownDataPlaneListener,
    observer: metrics.dataPlane,
  });
  // With a token, Check and the access log are refused from their headers, before any body is read.
  const dataPlaneAdmission = boundary.admission({ bytes: DEFAULT_READ_MAX_BYTES, origin: "gRPC's usual message limit" });
  const dataPlaneAdmissions: [string, RpcAdmission][] =
    dataPlaneAdmission === undefined ? [] : [[Authorization.typeName, dataPlaneAdmission], [AccessLogService.typeName, dataPlaneAdmission]];
  const authorization = authorizationRoutes({ config, hasher, keyCache, limits, clock, usage: usage.recorder, logger, observer: metrics.check, failedKeys, throttles: metrics.throttles, waitBudgetMs: config.storeReadTimeoutMs, rateLimits: webhooks.rateLimitNotes, credits: webhooks.creditNotes, identities: (key) => identityCache.lookup(key), ...(options.tracer && { tracing: new CheckTracing(options.tracer) }) }, boundary);
  // Response-reported costs (docs/response-cost.md): debited where Checks count credits.
  const routeTable = compileRouteTable(config.routes);
  const accessLogRoutes = usage.accessLogRoutes(boundary, { debitCredits: (key, identity, units) => limits.debitCredits(key, identity, units), costHeaderFor: (method, path) => routeTable.costHeaderFor(method, path) });
  const dataPlaneRoutes = (router: ConnectRouter) => {
    authorization.routes(router);
    accessLogRoutes(router);
  };
  const adminTracing = options.tracer ? [rpcTracing(options.tracer)] : [];
  const adminRoutes = (router: ConnectRouter) => {
    router.service(KeyAdminService, idempotentChanges.of(KeyAdminService, keyAdmin), {
      // A misspelt field or enum name must be an error, not silently dropped (a key created
      // without the rate limit its author asked for).
      jsonOptions: { ignoreUnknownFields: false },
      readMaxBytes: config.adminMaxBodyBytes,
      interceptors: [
        noStore,
        rpcMetrics(metrics.adminRpc),
        ...adminTracing,
        rpcLogging(logger),
        authentication,
      ],
    });
    // Cross-tenant actions of platform operators: the same authentication, which lets only
    // operator keys in (src/admin/caller-interceptor.ts).
    router.service(OperatorService, idempotentChanges.of(OperatorService, operator), {
      jsonOptions: { ignoreUnknownFields: false },
      readMaxBytes: config.adminMaxBodyBytes,
      interceptors: [
        noStore,
        rpcMetrics(metrics.adminRpc),
        ...adminTracing,
        rpcLogging(logger),
        authentication,
      ],
    });
  };

  // GitHub's secret-scanning reports (src/leaks/), only when its keys are configured.
  const leakObserver = leakMetrics(metrics.registry);
  const leaks = new ActOnLeaks({ store, plans: config, audit, keyEvents, now: () => new Date(clock.now()), observer: leakObserver });
  const secretScanning =
    scanningKeys &&
    new SecretScanning({ publicKeys: () => scanningKeys.current(), hasher, keys: store.keys, deletedKeys: store.deletedKeys, act: (leaked) => leaks.act(leaked), observer: leakObserver });

  const trustedProxies = new TrustedProxies(config.trustedProxies);
  const clientValues = clientContextValues(trustedProxies);
  const server = new HttpServer({
    routes: (router) => {
      healthRoutes(readiness)(router);
      if (!ownDataPlaneListener) dataPlaneRoutes(router);
      adminRoutes(router);
      // Last, so it describes everything above; open like health (src/server/reflection-service.ts).
      reflectionRoutes(router);
    },
    unaryRoutes: ownDataPlaneListener ? [] : [authorization.unaryRoute],
    readiness,
    extraHandlers: [metricsEndpoint(metrics), consoleHandler(), secretScanningEndpoint(secretScanning, bodies, logger, { proxies: trustedProxies, sources: config.secretScanningSources, maxSources: config.throttleMaxSources, clock })],
    contextValues: (req) => withTransportPeer(clientValues(req), req),
    admissions: new Map([
      [KeyAdminService.typeName, adminAdmission],
      [OperatorService.typeName, adminAdmission],
      ...(ownDataPlaneListener ? [] : dataPlaneAdmissions),
    ]),
    bodies,
    requestBodyTimeoutMs: config.requestBodyTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    idleTimeoutMs: config.idleConnectionTimeoutMs,
  });
  // Health here too, so Envoy can health-check the cluster it calls Check on; nothing else.
  const dataPlaneServer = ownDataPlaneListener
    ? new HttpServer({
        routes: (router) => {
          healthRoutes(readiness)(router);
          dataPlaneRoutes(router);
          // Behind the same boundary as Check on this listener.
          reflectionRoutes(router, [boundary.interceptor]);
        },
        unaryRoutes: [authorization.unaryRoute],
        readiness,
        contextValues: (req) => withTransportPeer(createContextValues(), req),
        admissions: new Map(dataPlaneAdmission === undefined ? [] : [...dataPlaneAdmissions, ...REFLECTION_SERVICES.map((name) => [name, dataPlaneAdmission] as const)]),
        // One budget for both listeners: the per-process bound holds whichever port bodies arrive on.
        bodies,
        requestBodyTimeoutMs: config.requestBodyTimeoutMs,
        headersTimeoutMs: config.headersTimeoutMs,
        idleTimeoutMs: config.idleConnectionTimeoutMs,
        ...(config.dataPlane.tls !== undefined && { tls: config.dataPlane.tls }),
      })
    : undefined;
  const port = await server.listen(config.port, config.host);
  const dataPlanePort = await dataPlaneServer?.listen(config.dataPlane.port!, config.host).catch(async (error: unknown) => {
    await server.close(0);
    throw error;
  });
  logDataPlane(logger, config, boundary, dataPlanePort ?? port);
  usage.recorder.start();
  changeFeed?.start();
  webhooks.start();
  await readiness.refresh();
  readiness.startMonitoring(READINESS_INTERVAL_MS);
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const origin = (scheme: string, listening: number) => `${scheme}://${host.includes(":") ? `[${host}]` : host}:${listening}`;

  return {
    port,
    url: origin("http", port),
    dataPlanePort,
    dataPlaneUrl: dataPlanePort === undefined ? undefined : origin(config.dataPlane.tls === undefined ? "http" : "https", dataPlanePort),
    store,
    keyEvents,
    keyCache,
    readiness,
    hasher,
    metrics,
    usage,
    async close() {
      readiness.beginShutdown();
      endWatchStreams.abort();
      await Promise.all([server.close(config.shutdownTimeoutMs), dataPlaneServer?.close(config.shutdownTimeoutMs)]);
      // After the server, so no Check can take a unit afterwards, and side by side, so the usage
      // flush never waits behind the rest: unused limit slices go back to the other replicas
      // (best effort: the store may be why it stops), the last change log entries are written,
      // and the usage is flushed.
      await Promise.all([
        limits.close(),
        changeFeed?.close(),
        webhooks.close(),
        usage.recorder.close(),
      ]);
      keyCache.close();
      metrics.close();
    },
  };
}

/** Once at start: which boundary guards the data plane, or that none does (never the token itself). */
function logDataPlane(logger: Logger, config: Config, boundary: DataPlaneBoundary, port: number): void {
  if (!boundary.configured) {
    logger.warn(
      "data plane open: neither KEYGATE_DATA_PLANE_TOKEN nor KEYGATE_DATA_PLANE_PORT is set, so Check answers anyone who reaches PORT " +
        "and the access-log service refuses every stream (permission_denied); see docs/security.md",
    );
    return;
  }
  logger.info(
    {
      port,
      ownListener: config.dataPlane.port !== undefined,
      tokenRequired: config.dataPlane.token !== undefined,
      tls: config.dataPlane.tls !== undefined,
      clientCertificatesRequired: config.dataPlane.tls?.clientCa !== undefined,
    },
    "data plane listening behind its boundary",
  );
  if (config.dataPlane.previousToken !== undefined) {
    logger.warn(
      "data-plane token rotation under way: KEYGATE_DATA_PLANE_TOKEN_PREVIOUS is still accepted beside KEYGATE_DATA_PLANE_TOKEN; " +
        "remove it once keygate_data_plane_previous_token_total stops growing (docs/security.md, Rotating the data-plane token)",
    );
  }
}
