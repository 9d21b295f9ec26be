import type { ConnectRouter } from "@connectrpc/connect";
import type { Config } from "../config/config.js";
import type { LoadMonthlyRequests } from "../limits/monthly-quota.js";
import type { Logger } from "../log/logger.js";
import type { DataPlaneGate } from "../rpc/data-plane-caller.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { accessLogRoutes } from "./access-log-service.js";
import { endpointNormalizer } from "./endpoint.js";
import { ResponseDebits, type DebitCredits } from "./response-debits.js";
import { responseCostMetric, UsageMetrics } from "./usage-metrics.js";
import { UsageAggregator } from "./usage-recorder.js";
import { monthOf, utcDay } from "../time/utc-days.js";

/** Usage as the app wires it: the recorder Check and the access log feed, its metrics, the quota's seed. */
export interface Usage {
  readonly recorder: UsageAggregator;
  readonly metrics: UsageMetrics;
  /** Seeds the organization's monthly quota: stored allowed requests plus those not yet written. */
  readonly loadMonthlyRequests: LoadMonthlyRequests;
  /**
   * Stored allowed requests only: the seed of a month leased for the first time. A process that
   * leases admitted each of its requests under a grant already in the fleet's total, so adding
   * those it has not yet written would count them twice.
   */
  readonly loadStoredMonthlyRequests: LoadMonthlyRequests;
  /**
   * Registers envoy.service.accesslog.v3.AccessLogService, for callers `boundary` admits; with
   * `responseCost`, responses' reported costs are debited from credits (docs/response-cost.md).
   */
  accessLogRoutes(boundary: DataPlaneGate, responseCost?: ResponseCostSources): (router: ConnectRouter) => void;
}

/** What debiting response-reported costs takes beside the store: the limits that count credits, and the route table's headers. */
export interface ResponseCostSources {
  debitCredits: DebitCredits;
  costHeaderFor: (method: string, path: string) => string | null;
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
  return {
    recorder,
    metrics,
    async loadMonthlyRequests(organizationId, monthStartMs) {
      const month = monthOf(utcDay(monthStartMs));
      return (await store.usage.allowedRequests(organizationId, month)) + recorder.unflushedAllowed(organizationId, month);
    },
    loadStoredMonthlyRequests: (organizationId, monthStartMs) => store.usage.allowedRequests(organizationId, monthOf(utcDay(monthStartMs))),
    accessLogRoutes: (boundary, responseCost) => {
      const debits =
        responseCost &&
        new ResponseDebits({
          ...responseCost,
          debitedRequests: store.debitedRequests,
          keys: store.keys,
          identities: store.identities,
          organizations: store.organizations,
          logger,
          count: (result) => metrics.increment(responseCostMetric(result)),
        });
      return accessLogRoutes({ recorder, keys: store.keys, clock, logger, metrics, ...(debits && { debits }) }, boundary);
    },
  };
}
