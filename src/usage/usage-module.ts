import type { ConnectRouter } from "@connectrpc/connect";
import type { Config } from "../config/config.js";
import type { CheckLimits } from "../limits/check-limits.js";
import type { LoadMonthlyRequests } from "../limits/monthly-quota.js";
import type { Logger } from "../log/logger.js";
import type { DataPlaneGate } from "../rpc/data-plane-caller.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { accessLogRoutes } from "./access-log-service.js";
import { endpointNormalizer } from "./endpoint.js";
import { UsageMetrics } from "./usage-metrics.js";
import { UsageAggregator } from "./usage-recorder.js";
import { usageHandlers, type UsageHandlers } from "./usage-service.js";
import { keyUsageTotals } from "./usage-totals.js";
import { UsageWatchers } from "./usage-watchers.js";
import { monthOf, utcDay } from "../time/utc-days.js";

/** Usage as the app wires it: the recorder Check feeds, and everything that reads usage. */
export interface Usage {
  readonly recorder: UsageAggregator;
  readonly metrics: UsageMetrics;
  /** Seeds the organization's monthly quota: stored allowed requests plus those not yet written. */
  readonly loadMonthlyRequests: LoadMonthlyRequests;
  /** KeyAdminDeps.usageTotals. */
  readonly usageTotals: ReturnType<typeof keyUsageTotals>;
  /** The usage RPCs of KeyAdminService. */
  handlers(limits: Pick<CheckLimits, "peekOrganization">): UsageHandlers;
  /** Registers envoy.service.accesslog.v3.AccessLogService, for callers `boundary` admits. */
  accessLogRoutes(boundary: DataPlaneGate): (router: ConnectRouter) => void;
  /** Ends open WatchUsage streams; call when shutdown begins, before the server drains. */
  endStreams(): void;
}

export interface UsageOptions {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
}

/** Builds the usage parts; call `recorder.start()` once serving and `recorder.close()` on shutdown. */
export function createUsage({ config, store, clock, logger }: UsageOptions): Usage {
  const metrics = new UsageMetrics();
  const stopping = new AbortController();
  const recorder = new UsageAggregator({
    repository: store.usage,
    clock,
    logger,
    metrics,
    normalizeEndpoint: endpointNormalizer(config.usageIdSegmentPattern),
    flushIntervalMs: config.usageFlushIntervalMs,
    batchSize: config.usageFlushBatchSize,
    maxBufferedEntries: config.usageBufferMaxEntries,
    retentionDays: config.usageRetentionDays,
  });
  const watchers = new UsageWatchers({
    usage: store.usage,
    clock,
    maxStreamsPerKey: config.usageWatchMaxStreamsPerKey,
    maxStreamsPerOrganization: config.usageWatchMaxStreamsPerOrganization,
    // Other replicas' flushes show in "today" at most one flush interval late.
    maxAgeMs: config.usageFlushIntervalMs,
  });
  return {
    recorder,
    metrics,
    async loadMonthlyRequests(organizationId, monthStartMs) {
      const month = monthOf(utcDay(monthStartMs));
      return (await store.usage.allowedRequests(organizationId, month)) + recorder.unflushedAllowed(organizationId, month);
    },
    usageTotals: keyUsageTotals(store.usage),
    handlers: (limits) =>
      usageHandlers({
        store,
        recorder,
        limits,
        clock,
        alertThresholds: config.usageAlertThresholds,
        watchHeartbeatMs: config.usageWatchHeartbeatMs,
        stopping: stopping.signal,
        watchers,
      }),
    accessLogRoutes: (boundary) => accessLogRoutes({ recorder, keys: store.keys, clock, logger, metrics }, boundary),
    endStreams: () => stopping.abort(),
  };
}
