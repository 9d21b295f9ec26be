/**
 * Counters for what usage recording drops, refuses or ignores, so that a figure that is short
 * says why. Names double as metric names; access-log results carry the reason as a label.
 */
export const USAGE_METRIC = {
  /** Increments dropped because the buffer of unflushed usage was full. */
  dropped: "usage_increments_dropped_total",
  /** Events with an unknown outcome, a missing id or a time that is not a number. */
  invalidEvents: "usage_events_invalid_total",
  batchesFlushed: "usage_batches_flushed_total",
  /** Flush attempts that failed and left their batch to be applied again. */
  flushFailures: "usage_flush_failures_total",
  /** Key-days the store refused for good (their increments are lost). */
  rejectedEntries: "usage_entries_rejected_total",
  /** Access-log streams refused because their caller passed no data-plane boundary. */
  refusedStreams: "access_log_streams_refused_total",
} as const;

/** Why an access-log entry added nothing; `recorded` when it did. */
export const ACCESS_LOG_RESULTS = [
  "recorded",
  "no_identity",
  "bad_identity",
  "unknown_key",
  "denied_by_check",
  "bad_status",
  "bad_time",
  "bad_duration",
  "bad_size",
  "not_http",
] as const;
export type AccessLogResult = (typeof ACCESS_LOG_RESULTS)[number];

export const accessLogMetric = (result: AccessLogResult): string => `access_log_entries_total{result="${result}"}`;

/** Why a reported cost was not debited, or that it was; the label of response_cost_entries_total. */
export const RESPONSE_COST_RESULTS = [
  "debited",
  /** Envoy sent the entry again: its request was debited already. */
  "duplicate",
  /** Neither the key nor its identity holds credits. */
  "no_credits",
  "malformed",
  "too_large",
  "no_request_id",
  "bad_request_id",
  "late",
  /** The store failed; the record was dropped, so the entry sent again may still debit. */
  "failed",
] as const;
export type ResponseCostResult = (typeof RESPONSE_COST_RESULTS)[number];

export const responseCostMetric = (result: ResponseCostResult): string => `response_cost_entries_total{result="${result}"}`;

export class UsageMetrics {
  readonly #counters = new Map<string, number>();

  /** Every counter from the start, at 0, so each shows as a series before its first count. */
  constructor() {
    for (const name of Object.values(USAGE_METRIC)) this.#counters.set(name, 0);
    for (const result of ACCESS_LOG_RESULTS) this.#counters.set(accessLogMetric(result), 0);
    for (const result of RESPONSE_COST_RESULTS) this.#counters.set(responseCostMetric(result), 0);
  }

  increment(name: string, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
  }

  value(name: string): number {
    return this.#counters.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counters].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
