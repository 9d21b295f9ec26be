import { afterEach, describe, expect, it } from "vitest";
import { ChangeFeed } from "../../src/cache/change-feed.js";
import { packageVersion } from "../../src/config/package-root.js";
import { Metrics } from "../../src/metrics/metrics.js";
import type { ChangeLogEntry, ChangeLogRepository } from "../../src/store/store.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * What /metrics shows before any traffic: keygate_build_info, and every counter with at least one
 * series at 0 (a dashboard's rate() and an alert's absence test need a series to exist); then the
 * throttles, the change feed and the limit asks, counted as they happen.
 */

const running: TestApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()));
});

/** The value of one series, labels given in the order prom-client prints them. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Each counter's name and how many series it has. */
function counters(text: string): Map<string, number> {
  const lines = text.split("\n");
  const found = new Map<string, number>();
  for (const line of lines) {
    const match = /^# TYPE (\S+) counter$/.exec(line);
    if (match) found.set(match[1]!, lines.filter((sample) => sample.startsWith(`${match[1]!} `) || sample.startsWith(`${match[1]!}{`)).length);
  }
  return found;
}

describe("metrics from the start", () => {
  it("shows keygate_build_info = 1 with keygate's and Node's versions", async () => {
    const t = await startTestApp();
    running.push(t);
    const { text } = await t.app.metrics.scrape();
    expect(value(text, `keygate_build_info{version="${packageVersion()}",node="${process.version}"}`)).toBe(1);
  });

  it("shows every counter with a series at 0 before any traffic", async () => {
    const t = await startTestApp();
    running.push(t);
    const { text } = await t.app.metrics.scrape();
    const found = counters(text);
    const empty = [...found].filter(([, series]) => series === 0).map(([name]) => name);
    expect(empty).toEqual([]);
    for (const name of [
      "keygate_check_decisions_total",
      "keygate_check_failures_total",
      "keygate_admin_rpcs_total",
      "keygate_store_errors_total",
      "keygate_throttled_total",
      "keygate_change_feed_polls_total",
      "keygate_change_feed_entries_applied_total",
      "keygate_limit_leases_total",
      "keygate_limit_lease_buckets_total",
      "keygate_usage_increments_dropped_total",
      "keygate_access_log_entries_total",
    ]) {
      expect(found.has(name), name).toBe(true);
    }
    expect(value(text, 'keygate_check_decisions_total{decision="deny",reason="QUOTA_EXCEEDED"}')).toBe(0);
    expect(value(text, 'keygate_check_failures_total{code="unavailable"}')).toBe(0);
    expect(value(text, 'keygate_admin_rpcs_total{method="CreateKey",code="OK"}')).toBe(0);
    expect(value(text, 'keygate_store_errors_total{repository="keys",operation="findByHash"}')).toBe(0);
    expect(value(text, 'keygate_access_log_entries_total{result="unknown_key"}')).toBe(0);
    for (const throttle of ["check_failed_keys", "admin_failed_authentications", "admin_requests"]) {
      expect(value(text, `keygate_throttled_total{throttle="${throttle}"}`)).toBe(0);
    }
  });

  it("counts admin calls a throttle refused, and the sources it tracks", async () => {
    const t = await startTestApp({ env: { KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: "1" } });
    running.push(t);
    // The first failure is counted, the second finds the address over its limit.
    for (let i = 0; i < 2; i++) await expect(t.clientFor("sk_live_malformed").listKeys({})).rejects.toThrow();
    const { text } = await t.app.metrics.scrape();
    expect(value(text, 'keygate_throttled_total{throttle="admin_failed_authentications"}')).toBe(1);
    expect(value(text, 'keygate_throttle_sources{throttle="admin_failed_authentications"}')).toBe(1);
  });

  it("counts the change feed's polls, the entries it applied, and its lag since the last read", async () => {
    let now = 1_000;
    const metrics = new Metrics({ processMetrics: false, nowMs: () => now });
    let answer: () => Promise<ChangeLogEntry[]> = async () => [{ id: "c1", change: { kind: "organization", organizationId: "org_1" } } as ChangeLogEntry];
    const changes: ChangeLogRepository = { recent: () => answer() } as ChangeLogRepository;
    const evicted: string[] = [];
    const keyCache = { refresh() {}, evictOrganization: (id: string) => void evicted.push(id), clear() {} };
    const feed = new ChangeFeed({ changes, keyCache, intervalMs: 1_000, logger: { warn() {}, info() {} }, nowMs: () => now, observer: metrics.changeFeed });
    await feed.tick();
    expect(evicted).toEqual(["org_1"]);
    now = 4_000;
    answer = () => Promise.reject(new Error("store down"));
    await feed.tick();
    const { text } = await metrics.scrape();
    expect(value(text, 'keygate_change_feed_polls_total{result="ok"}')).toBe(1);
    expect(value(text, 'keygate_change_feed_polls_total{result="failed"}')).toBe(1);
    expect(value(text, 'keygate_change_feed_entries_applied_total{source="poll"}')).toBe(1);
    // Read at 1 s, failed at 4 s: three seconds behind.
    expect(value(text, "keygate_change_feed_lag_seconds")).toBe(3);
    await feed.close();
    metrics.close();
  });

  it("counts the buckets the asks for limit slices carried", async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.limits.asked(3, "granted", 0.002);
    metrics.limits.asked(2, "failed", 0.5);
    const { text } = await metrics.scrape();
    expect(value(text, "keygate_limit_lease_buckets_total")).toBe(5);
    expect(value(text, 'keygate_limit_leases_total{result="granted"}')).toBe(1);
    metrics.close();
  });
});
