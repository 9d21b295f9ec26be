import { fromJson, type JsonObject } from "@bufbuild/protobuf";
import { createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import pino from "pino";
import { AccessLogService, StreamAccessLogsMessageSchema, type StreamAccessLogsMessage } from "../../gen/envoy/service/accesslog/v3/als_pb.js";
import type { KeyRecord } from "../../src/model/records.js";
import { dataPlaneCallerKey, type DataPlaneGate } from "../../src/rpc/data-plane-caller.js";
import type { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { accessLogRoutes } from "../../src/usage/access-log-service.js";
import { ResponseDebits, type DebitCredits } from "../../src/usage/response-debits.js";
import { RESPONSE_COST_RESULTS, responseCostMetric, UsageMetrics, type ResponseCostResult } from "../../src/usage/usage-metrics.js";

/** One replica's access-log service with response debits, on a store, and the entries Envoy would stream to it. */

export const NOW = Date.UTC(2031, 2, 15, 12);

/** The boundary passed, as for Envoy with the data-plane token. */
const passed: DataPlaneGate = {
  admit: () => ({ passedBoundary: true, peer: undefined }),
  interceptor: ((next) => (req) => {
    req.contextValues.set(dataPlaneCallerKey, { passedBoundary: true, peer: undefined });
    return next(req);
  }) as Interceptor,
};

export interface Replica {
  send(entries: JsonObject[]): Promise<void>;
  metrics: UsageMetrics;
}

export function replica(store: Store, debitCredits: DebitCredits, costHeaderFor: (method: string, path: string) => string | null = () => null): Replica {
  const clock = new ManualClock(NOW);
  const logger = pino({ level: "silent" });
  const metrics = new UsageMetrics();
  // Usage itself is the recorder's (access-log-entry tests): here only what is debited counts.
  const recorder = { recordResponse: () => {} };
  const debits = new ResponseDebits({
    debitedRequests: store.debitedRequests,
    debitCredits,
    keys: store.keys,
    identities: store.identities,
    organizations: store.organizations,
    costHeaderFor,
    logger,
    count: (result) => metrics.increment(responseCostMetric(result)),
  });
  const client = createClient(AccessLogService, createRouterTransport(accessLogRoutes({ recorder, keys: store.keys, clock, logger, metrics, debits }, passed)));
  return {
    metrics,
    async send(entries) {
      async function* stream(): AsyncIterable<StreamAccessLogsMessage> {
        yield fromJson(StreamAccessLogsMessageSchema, { httpLogs: { logEntry: entries } });
      }
      await client.streamAccessLogs(stream());
    },
  };
}

export function anEntry(key: KeyRecord, requestId: string, responseHeaders: Record<string, string>, path = "/v1/chat/completions"): JsonObject {
  return {
    commonProperties: {
      startTime: new Date(NOW - 2_000).toISOString(),
      duration: "1.5s",
      metadata: { filterMetadata: { "envoy.filters.http.ext_authz": { key_id: key.id, organization_id: key.organizationId } } },
    },
    request: { requestMethod: "POST", path, requestId },
    response: { responseCode: 200, responseHeaders },
  };
}

export const results = (metrics: UsageMetrics): Partial<Record<ResponseCostResult, number>> =>
  Object.fromEntries(RESPONSE_COST_RESULTS.map((result) => [result, metrics.value(responseCostMetric(result))]).filter(([, n]) => n !== 0));

