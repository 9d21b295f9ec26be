import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import { packageVersion } from "../config/package-root.js";
import { buildInfo } from "./build-info.js";
import { changeFeedMetrics } from "./change-feed-metrics.js";
import { checkMetrics } from "./check-metrics.js";
import { CounterFeed } from "./counter-feed.js";
import type {
  CacheEviction,
  CacheLookup,
  ChangeFeedObserver,
  CheckObserver,
  DataPlaneObserver,
  KeyCacheObserver,
  LimitsObserver,
  Throttle,
  ThrottleObserver,
  UsageCounterSource,
  UsageFlushSource,
} from "./observers.js";
import { processRegistry } from "./process-metrics.js";
import { throttleMetrics, type ThrottleSources } from "./throttle-metrics.js";

/**
 * keygate's Prometheus metrics, in a registry of their own per app (never prom-client's global
 * one), so several apps in one process (tests) do not collide. Every label takes values from a
 * closed set: decisions and denial codes, cache causes, repository and method names, RPC codes.
 * No key id, path, address or secret is ever a label or a value.
 */

/** What the store wrapper reports: one call per store operation. */
export interface StoreObserver {
  called(repository: string, operation: string, seconds: number, failed: boolean): void;
  /** An operation the store offers, told once at start so its counters show 0 before its first call. */
  offered?(repository: string, operation: string): void;
}

/** What the admin RPC interceptor reports: one call per finished RPC (streams when they end). */
export interface AdminRpcObserver {
  finished(method: string, code: string, seconds: number): void;
}

/** Unfinished request bodies held (src/server/body-budget.ts). */
export interface RequestBodiesSource {
  readonly bytes: number;
  readonly resets: number;
}

export interface KeyCacheSize {
  readonly stats: { entries: number; bytes: number; unknown: number };
}

export interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop, GC); default true. */
  processMetrics?: boolean;
  /** Monotonic milliseconds; default performance.now. */
  nowMs?: () => number;
  /** keygate_build_info's version; default package.json's. */
  version?: string;
}

const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const RPC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A gauge whose value is read when Prometheus scrapes. */
function liveGauge(registers: Registry[], name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

export class Metrics {
  readonly registry = new Registry();
  readonly check: CheckObserver;
  readonly keyCache: KeyCacheObserver;
  readonly store: StoreObserver;
  readonly adminRpc: AdminRpcObserver;
  readonly dataPlane: DataPlaneObserver;
  readonly limits: LimitsObserver;
  readonly throttles: ThrottleObserver;
  readonly changeFeed: ChangeFeedObserver;
  readonly #nowMs: () => number;
  readonly #cleanups: (() => void)[] = [];
  readonly #beforeScrape: (() => void)[] = [];
  #cacheSize: KeyCacheSize | undefined;
  #usage: UsageFlushSource | undefined;
  #bodies: RequestBodiesSource | undefined;
  #throttleSources: Partial<Record<Throttle, ThrottleSources>> = {};
  /** When usage last reached the store (or when watching began). */
  #lastFlushMs = 0;
  /** The process's metrics, scraped before this app's own; null: left out. */
  readonly #process: Registry | null;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#process = (options.processMetrics ?? true) ? processRegistry() : null;

    buildInfo(this.registry, options.version ?? packageVersion());
    this.check = checkMetrics(this.registry);
    this.throttles = throttleMetrics(this.registry, () => this.#throttleSources);
    this.changeFeed = changeFeedMetrics(this.registry, this.#nowMs);

    const previousToken = new Counter({
      name: "keygate_data_plane_previous_token_total",
      help:
        "Data-plane calls (Check RPCs, access-log streams) admitted with KEYGATE_DATA_PLANE_TOKEN_PREVIOUS, by method. " +
        "Once it stops growing, every Envoy sends the current token and the previous one can be removed.",
      labelNames: ["method"] as const,
      registers,
    });
    // Present from the start, so a rotation's dashboard shows 0 rather than no series.
    for (const method of ["Check", "StreamAccessLogs"]) previousToken.inc({ method }, 0);
    this.dataPlane = {
      admittedWithPreviousToken(method) {
        previousToken.inc({ method });
      },
    };

    const hits = new CounterFeed(
      this.registry,
      "keygate_key_cache_hits_total",
      "Key cache lookups answered from memory: kind key (a cached key) or unknown (a cached miss).",
      ["kind"],
      (kind) => ({ kind }),
    );
    const misses = new CounterFeed(this.registry, "keygate_key_cache_misses_total", "Key cache lookups that had to read the store.", [], () => ({}));
    const evictions = new Counter({
      name: "keygate_key_cache_evictions_total",
      help: "Key cache entries removed, by cause (capacity, expired, changed: the key was updated, rotated, revoked or deleted).",
      labelNames: ["cause"] as const,
      registers,
    });
    for (const kind of ["key", "unknown"] as const) hits.present(kind);
    for (const cause of ["capacity", "expired", "changed"] as const) evictions.inc({ cause }, 0);
    const lookupLabel: Record<CacheLookup, "key" | "unknown" | null> = { hit: "key", negative_hit: "unknown", miss: null };
    this.keyCache = {
      lookup(result) {
        const kind = lookupLabel[result];
        if (kind === null) misses.add("");
        else hits.add(kind);
      },
      evicted(cause: CacheEviction) {
        evictions.inc({ cause });
      },
    };
    const zero = { entries: 0, bytes: 0, unknown: 0 };
    liveGauge(registers, "keygate_key_cache_entries", "Keys held in the key cache.", () => (this.#cacheSize?.stats ?? zero).entries);
    liveGauge(registers, "keygate_key_cache_bytes", "Estimated bytes held by the key cache.", () => (this.#cacheSize?.stats ?? zero).bytes);
    liveGauge(registers, "keygate_key_cache_unknown_entries", "Unknown secret hashes the key cache remembers.", () =>
      (this.#cacheSize?.stats ?? zero).unknown,
    );

    const leases = new Counter({
      name: "keygate_limit_leases_total",
      help: "Asks for limit slices sent to the store (several buckets each), by result: granted (answered) or failed.",
      labelNames: ["result"] as const,
      registers,
    });
    const leaseSeconds = new Histogram({ name: "keygate_limit_lease_duration_seconds", help: "How long an ask for limit slices took.", buckets: STORE_BUCKETS, registers });
    const leaseWaits = new Histogram({
      name: "keygate_limit_lease_wait_seconds",
      help: "How long a Check waited for a limit slice (a bucket's first request in a window on this replica, or a slice used up).",
      buckets: STORE_BUCKETS,
      registers,
    });
    const withoutLease = new Counter({
      name: "keygate_limit_admitted_without_lease_total",
      help: "Requests admitted on the outage allowance while the store did not answer leases (counted in the store once it does).",
      registers,
    });
    const leaseBuckets = new Counter({
      name: "keygate_limit_lease_buckets_total",
      help: "Buckets (one limit's window of a key, identity or organization) the asks for limit slices carried, answered or not.",
      registers,
    });
    const leasesAnswered = new Gauge({ name: "keygate_limit_leases_answered", help: "1 while the store answers limit leases, 0 while this replica runs on held slices and the outage allowance.", registers });
    leasesAnswered.set(1);
    for (const result of ["granted", "failed"] as const) leases.inc({ result }, 0);
    this.limits = {
      asked(buckets, result, seconds) {
        leases.inc({ result });
        leaseBuckets.inc(buckets);
        leaseSeconds.observe(seconds);
      },
      waited(seconds) {
        leaseWaits.observe(seconds);
      },
      admittedWithoutLease() {
        withoutLease.inc();
      },
      storeReachable(reachable) {
        leasesAnswered.set(reachable ? 1 : 0);
      },
    };

    const storeSeconds = new Histogram({
      name: "keygate_store_operation_duration_seconds",
      help: "Store operations by repository and operation, failed ones included.",
      labelNames: ["repository", "operation"] as const,
      buckets: STORE_BUCKETS,
      registers,
    });
    const storeErrors = new Counter({
      name: "keygate_store_errors_total",
      help: "Store operations that failed, by repository and operation.",
      labelNames: ["repository", "operation"] as const,
      registers,
    });
    this.store = {
      called(repository, operation, seconds, failed) {
        storeSeconds.observe({ repository, operation }, seconds);
        if (failed) storeErrors.inc({ repository, operation });
      },
      offered(repository, operation) {
        storeErrors.inc({ repository, operation }, 0);
      },
    };

    const rpcs = new Counter({
      name: "keygate_admin_rpcs_total",
      help: "KeyAdminService RPCs by method and code (OK or the Connect code).",
      labelNames: ["method", "code"] as const,
      registers,
    });
    const rpcSeconds = new Histogram({
      name: "keygate_admin_rpc_duration_seconds",
      help: "KeyAdminService RPC durations by method (streams: until they end).",
      labelNames: ["method"] as const,
      buckets: RPC_BUCKETS,
      registers,
    });
    // Every method's OK series from the start; other codes appear with their first call.
    for (const service of [KeyAdminService, OperatorService]) for (const method of service.methods) rpcs.inc({ method: method.name, code: "OK" }, 0);
    this.adminRpc = {
      finished(method, code, seconds) {
        rpcs.inc({ method, code });
        rpcSeconds.observe({ method }, seconds);
      },
    };

    liveGauge(registers, "keygate_request_body_buffered_bytes", "Bytes of unfinished request bodies held in memory.", () => this.#bodies?.bytes ?? 0);
    let resetsCounted = 0;
    const resets: Counter = new Counter({
      name: "keygate_request_body_resets_total",
      help: "Requests reset because their connection or the process held too many unfinished body bytes.",
      registers,
      collect: () => {
        const total = this.#bodies?.resets ?? 0;
        resets.inc(total - resetsCounted);
        resetsCounted = total;
      },
    });

    const flushes = new Counter({ name: "keygate_usage_flushes_total", help: "Usage flushes that wrote usage to the store.", registers });
    liveGauge(registers, "keygate_usage_buffer_entries", "Key-days of usage recorded in memory and not yet written to the store.", () =>
      this.#usage?.unflushedEntries ?? 0,
    );
    liveGauge(
      registers,
      "keygate_usage_flush_lag_seconds",
      "While usage waits in memory: seconds since usage last reached the store; 0 when nothing waits.",
      () => (this.#usage && this.#usage.unflushedEntries > 0 ? (this.#nowMs() - this.#lastFlushMs) / 1000 : 0),
    );
    this.#countFlush = () => {
      flushes.inc();
      this.#lastFlushMs = this.#nowMs();
    };
  }

  readonly #countFlush: () => void;

  /** Reports the bytes unfinished request bodies hold, and the resets, at every scrape. */
  watchRequestBodies(source: RequestBodiesSource): void {
    this.#bodies = source;
  }

  /** Reports how many sources each throttle tracks at every scrape. */
  watchThrottles(sources: Partial<Record<Throttle, ThrottleSources>>): void {
    this.#throttleSources = sources;
  }

  /** Reports the key cache's size at every scrape. */
  watchKeyCache(cache: KeyCacheSize): void {
    this.#cacheSize = cache;
  }

  /**
   * Reports the usage recorder's buffer and flush lag at every scrape, and mirrors its own
   * counters (what it dropped, refused or ignored) as `keygate_`-prefixed counters.
   */
  watchUsage(source: UsageFlushSource, counters?: UsageCounterSource): void {
    this.#usage = source;
    this.#lastFlushMs = this.#nowMs();
    this.#cleanups.push(source.onFlushed(() => this.#countFlush()));
    if (counters) this.#mirror(counters);
  }

  #mirror(source: UsageCounterSource): void {
    const mirrored = new Map<string, Counter<string>>();
    const counterFor = (name: string, label: string | undefined): Counter<string> => {
      let counter = mirrored.get(name);
      if (counter === undefined) {
        // In this app's registry only: without `registers`, prom-client also puts it in its global
        // one, where a second app in the process (tests) collides with the first's name.
        counter = new Counter({
          name: `keygate_${name}`,
          help: `keygate usage recording: ${name.replaceAll("_", " ")}.`,
          labelNames: label ? [label] : [],
          registers: [this.registry],
        });
        mirrored.set(name, counter);
      }
      return counter;
    };
    // Read before each scrape: counters for names seen so far are set to the recorder's values.
    const sync = () => {
      for (const counter of mirrored.values()) counter.reset();
      for (const [key, value] of Object.entries(source.snapshot())) {
        const match = /^([a-z_]+)(?:\{([a-z_]+)="([a-z0-9_]+)"\})?$/.exec(key);
        if (!match) continue;
        const [, name, label, labelValue] = match;
        const counter = counterFor(name!, label);
        if (label) counter.inc({ [label]: labelValue! }, value);
        else counter.inc(value);
      }
    };
    this.#beforeScrape.push(sync);
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    for (const prepare of this.#beforeScrape) prepare();
    const own = await this.registry.metrics();
    return { contentType: this.registry.contentType, text: this.#process === null ? own : `${await this.#process.metrics()}${own}` };
  }

  close(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.registry.clear();
  }
}
