/**
 * The small interfaces the hot paths report through. Each has a no-op default, so code that is
 * built without metrics (unit tests, benchmarks) pays one empty call at most; `Metrics` implements
 * them with prom-client. Labels are closed sets: outcomes, codes, method names; never key ids.
 */

/** What Check reports: one call per request, with the time from arrival to answer. */
export interface CheckObserver {
  /** A decision: `allowed` or the denial code (API_KEY_INVALID, RATE_LIMITED, ...). */
  decided(outcome: string, seconds: number): void;
  /** No decision: the RPC failed (`unavailable` when the store could not be read, `internal` for a bug). */
  failed(code: "unavailable" | "internal", seconds: number): void;
}

export type CacheLookup = "hit" | "negative_hit" | "miss";
/** `capacity`: pushed out by size; `expired`: past its TTL; `changed`: dropped because the key changed. */
export type CacheEviction = "capacity" | "expired" | "changed";

/** What the key cache reports about its key entries. */
export interface KeyCacheObserver {
  lookup(result: CacheLookup): void;
  evicted(cause: CacheEviction): void;
}

/**
 * What metrics reads from the usage recorder (the UsageAggregator has this shape): the key-days
 * waiting to be written, read at scrape time, and a call after every flush that wrote usage.
 */
export interface UsageFlushSource {
  readonly unflushedEntries: number;
  onFlushed(listener: () => void): () => void;
}

/**
 * The usage recorder's own counters (UsageMetrics has this shape): names like
 * `usage_increments_dropped_total`, or `access_log_entries_total{result="recorded"}` with one label.
 * Each becomes a Prometheus counter prefixed `keygate_`.
 */
export interface UsageCounterSource {
  snapshot(): Record<string, number>;
}

/** What the data plane's boundary reports (src/server/data-plane-boundary.ts). */
export interface DataPlaneObserver {
  /** A call (`method`: Check or StreamAccessLogs) admitted with KEYGATE_DATA_PLANE_TOKEN_PREVIOUS. */
  admittedWithPreviousToken(method: string): void;
}

/** What leased limits report (src/limits/leased-budgets.ts). */
export interface LimitsObserver {
  /** One ask for `buckets` buckets' budgets, answered or failed, and how long it took. */
  asked(buckets: number, result: "granted" | "failed", seconds: number): void;
  /** A Check waited this long for an ask. */
  waited(seconds: number): void;
  /** A request admitted beyond the slices held, on the outage allowance. */
  admittedWithoutLease(): void;
  /** The store answers asks again, or stopped answering. */
  storeReachable(reachable: boolean): void;
}

/**
 * The bounds on what one source may cost (src/abuse/sliding-counters.ts), as metric labels:
 * Check's failed keys per source (an unknown key from a source over its limit is answered
 * API_KEY_INVALID without a store read), the admin API's failed authentications per address,
 * and its requests per caller key.
 */
export const THROTTLES = ["check_failed_keys", "admin_failed_authentications", "admin_requests"] as const;
export type Throttle = (typeof THROTTLES)[number];

/** Told of each request a throttle refused or answered without a lookup. */
export interface ThrottleObserver {
  throttled(throttle: Throttle): void;
}

/** What the change feed reports (src/cache/change-feed.ts): other replicas' key changes reaching this one. */
export interface ChangeFeedObserver {
  /** One poll of the change log, answered or failed, and how long it took. */
  polled(result: "ok" | "failed", seconds: number): void;
  /** An entry applied to the key cache (each once), from the poll or the store's change stream. */
  applied(source: "poll" | "stream"): void;
  /** The change stream broke or could not open (the poll covers until it reopens). */
  streamFailed(): void;
  /** No poll succeeded for too long: the whole key cache was dropped. */
  cacheDropped(): void;
}

export const noCheckObserver: CheckObserver = { decided() {}, failed() {} };
export const noKeyCacheObserver: KeyCacheObserver = { lookup() {}, evicted() {} };
export const noLimitsObserver: LimitsObserver = { asked() {}, waited() {}, admittedWithoutLease() {}, storeReachable() {} };
export const noDataPlaneObserver: DataPlaneObserver = { admittedWithPreviousToken() {} };
export const noThrottleObserver: ThrottleObserver = { throttled() {} };
export const noChangeFeedObserver: ChangeFeedObserver = { polled() {}, applied() {}, streamFailed() {}, cacheDropped() {} };
