import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ChangeFeedObserver } from "./observers.js";

/**
 * The change feed's metrics (src/cache/change-feed.ts): its polls of the change log and how long
 * they took, the entries it applied from the poll or the change stream, the stream's failures,
 * the cache drops after too long without a poll, and its lag: how long since the change log was
 * last read, which bounds how late another replica's revoke can reach this one's cache. All are
 * present from the start; on a store of one process alone (no feed) they stay at 0.
 */
const POLL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function changeFeedMetrics(registry: Registry, nowMs: () => number): ChangeFeedObserver {
  const registers = [registry];
  const polls = new Counter({
    name: "keygate_change_feed_polls_total",
    help: "Reads of the change log other replicas write their key changes to, by result (ok, failed).",
    labelNames: ["result"] as const,
    registers,
  });
  const pollSeconds = new Histogram({ name: "keygate_change_feed_poll_duration_seconds", help: "How long a read of the change log took.", buckets: POLL_BUCKETS, registers });
  const applied = new Counter({
    name: "keygate_change_feed_entries_applied_total",
    help: "Change log entries applied to the key cache (each once), by source: poll or stream (the store's change stream).",
    labelNames: ["source"] as const,
    registers,
  });
  const streamErrors = new Counter({
    name: "keygate_change_feed_stream_errors_total",
    help: "Times the store's change stream broke or could not open; the poll covers until it reopens.",
    registers,
  });
  const drops = new Counter({
    name: "keygate_change_feed_cache_drops_total",
    help: "Times no read of the change log succeeded for half its look-back window, so the whole key cache was dropped.",
    registers,
  });
  let watching = false;
  let lastReadMs = 0;
  new Gauge({
    name: "keygate_change_feed_lag_seconds",
    help:
      "Seconds since this replica last read the change log: how late another replica's key change may reach its cache " +
      "(about the poll interval when healthy; it grows while the store does not answer). 0 without a change feed.",
    registers,
    collect() {
      this.set(watching ? (nowMs() - lastReadMs) / 1000 : 0);
    },
  });
  for (const result of ["ok", "failed"] as const) polls.inc({ result }, 0);
  for (const source of ["poll", "stream"] as const) applied.inc({ source }, 0);
  return {
    polled(result, seconds) {
      polls.inc({ result });
      pollSeconds.observe(seconds);
      if (result === "ok") lastReadMs = nowMs();
      // Never read yet: the lag counts from the first attempt.
      else if (!watching) lastReadMs = nowMs() - seconds * 1000;
      watching = true;
    },
    applied(source) {
      applied.inc({ source });
    },
    streamFailed() {
      streamErrors.inc();
    },
    cacheDropped() {
      drops.inc();
    },
  };
}
