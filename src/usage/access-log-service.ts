import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { LRUCache } from "lru-cache";
import { growingEntryBound } from "../model/entry-bound.js";
import {
  AccessLogService,
  StreamAccessLogsResponseSchema,
  type StreamAccessLogsMessage,
  type StreamAccessLogsResponse,
} from "../../gen/envoy/service/accesslog/v3/als_pb.js";
import type { Logger } from "../log/logger.js";
import { dataPlaneCallerKey, type DataPlaneGate } from "../rpc/data-plane-caller.js";
import type { KeyRepository } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { readAccessLogEntry } from "./access-log-entry.js";
import type { ResponseUsageEvent } from "./usage-event.js";
import type { ResponseDebits } from "./response-debits.js";
import { accessLogMetric, USAGE_METRIC, type UsageMetrics } from "./usage-metrics.js";
import type { UsageAggregator } from "./usage-recorder.js";

/**
 * envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs: Envoy's gRPC access logger
 * (`envoy.access_loggers.http_grpc`, Istio's `envoyHttpAls`) streams HTTP log entries here; each
 * one that names a key of keygate adds its response status, duration and bytes to that key's
 * usage. Entries are checked (access-log-entry.ts) and the key must exist in the organization the
 * entry names, so an entry cannot put usage on another organization's key; everything ignored is
 * counted by reason. Envoy expects no answer and reconnects when the stream ends.
 *
 * An entry is believed only from Envoy: a stream must pass the data plane's boundary (the token,
 * or the data plane's own listener, src/server/data-plane-boundary.ts). With no boundary
 * configured nobody passes, and every stream is refused `permission_denied` before its first
 * entry is read (app.ts says so once in the log at start).
 *
 * With `debits`, a recorded entry's response-reported cost is then debited from credits, once per
 * request (response-debits.ts, docs/response-cost.md).
 */

export interface AccessLogDeps {
  recorder: Pick<UsageAggregator, "recordResponse">;
  keys: Pick<KeyRepository, "findById">;
  clock: Clock;
  logger: Logger;
  metrics: UsageMetrics;
  debits?: Pick<ResponseDebits, "debit">;
}

/** Organization/key pairs checked against the store, remembered for a minute. */
const KNOWN_KEYS_MAX = 100_000;
const KNOWN_KEYS_TTL_MS = 60_000;

export function accessLogRoutes(deps: AccessLogDeps, boundary: DataPlaneGate): (router: ConnectRouter) => void {
  const known = new LRUCache<string, boolean>({ ...growingEntryBound(KNOWN_KEYS_MAX), ttl: KNOWN_KEYS_TTL_MS });

  async function exists(event: ResponseUsageEvent): Promise<boolean> {
    const pair = `${event.organizationId}/${event.keyId}`;
    const cached = known.get(pair);
    if (cached !== undefined) return cached;
    let found: boolean;
    try {
      found = (await deps.keys.findById(event.organizationId, event.keyId)) !== null;
    } catch (error) {
      deps.logger.error({ err: error }, "access log: key store unavailable");
      throw new ConnectError("key store unavailable", Code.Unavailable, undefined, undefined, error);
    }
    known.set(pair, found);
    return found;
  }

  async function streamAccessLogs(messages: AsyncIterable<StreamAccessLogsMessage>, context: HandlerContext): Promise<StreamAccessLogsResponse> {
    if (!context.values.get(dataPlaneCallerKey).passedBoundary) {
      deps.metrics.increment(USAGE_METRIC.refusedStreams);
      throw new ConnectError(
        "access-log entries are accepted only from the data plane: set KEYGATE_DATA_PLANE_TOKEN or KEYGATE_DATA_PLANE_PORT",
        Code.PermissionDenied,
      );
    }
    for await (const message of messages) {
      if (message.logEntries.case !== "httpLogs") {
        deps.metrics.increment(accessLogMetric("not_http"));
        continue;
      }
      const nowMs = deps.clock.now();
      for (const entry of message.logEntries.value.logEntry) {
        const reading = readAccessLogEntry(entry, nowMs);
        if (reading.result !== "recorded") {
          deps.metrics.increment(accessLogMetric(reading.result));
        } else if (!(await exists(reading.event))) {
          deps.metrics.increment(accessLogMetric("unknown_key"));
        } else {
          deps.recorder.recordResponse(reading.event);
          deps.metrics.increment(accessLogMetric("recorded"));
          await deps.debits?.debit(entry, reading.event, nowMs);
        }
      }
    }
    return create(StreamAccessLogsResponseSchema);
  }

  return (router) => router.service(AccessLogService, { streamAccessLogs }, { interceptors: [boundary.interceptor] });
}
