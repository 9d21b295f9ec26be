import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { Metrics } from "../../src/metrics/metrics.js";
import { instrumentStore } from "../../src/metrics/store-metrics.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { envoyCheck } from "./envoy-check.js";

/**
 * GET /metrics after real traffic: Checks through the gRPC port, admin RPCs through Connect.
 * Every series the issue names shows up; no secret, key id or path ever does.
 */

const running: TestApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()));
});

async function scrape(t: TestApp): Promise<string> {
  const response = await fetch(`${t.app.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series, labels given in the order prom-client prints them. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("GET /metrics", () => {
  it("shows Check decisions, latency, cache, store and admin RPC series after load, and never a secret or key id", async () => {
    const t = await startTestApp({ env: { KEYGATE_USAGE_FLUSH_INTERVAL_MS: "50" } });
    running.push(t);
    const { key, secret } = await t.client.createKey({ name: "metered", scopes: ["machines:read"] });
    const envoy = envoyCheck(t.app.url);
    for (let i = 0; i < 5; i++) expect((await envoy.check(secret, `/v1/machines/${i}`)).status?.code).toBe(0);
    await envoy.check(undefined);
    // Another last character (a fixed one would be the secret itself one time in 62).
    await envoy.check(`${secret.slice(0, -1)}${secret.endsWith("x") ? "y" : "x"}`);
    await t.client.updateKey({ id: key!.id, isActive: false });
    expect((await envoy.check(secret)).status?.code).toBe(Code.Unauthenticated);
    await expect(t.client.getKey({ id: "key_doesnotexist" })).rejects.toThrow(ConnectError);
    await expect(t.clientFor("sk_live_not_a_key").listKeys({})).rejects.toThrow(ConnectError);

    // The recorder writes usage on its next flush; wait for it to show.
    await expect.poll(async () => value(await scrape(t), "keygate_usage_flushes_total"), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    const text = await scrape(t);
    expect(value(text, 'keygate_check_decisions_total{decision="allow",reason="OK"}')).toBe(5);
    expect(value(text, 'keygate_check_decisions_total{decision="deny",reason="API_KEY_MISSING"}')).toBe(1);
    expect(value(text, 'keygate_check_decisions_total{decision="deny",reason="API_KEY_INVALID"}')).toBe(1);
    expect(value(text, 'keygate_check_decisions_total{decision="deny",reason="API_KEY_DISABLED"}')).toBe(1);
    expect(value(text, 'keygate_check_duration_seconds_count{decision="allow"}')).toBe(5);
    expect(text).toMatch(/^keygate_check_duration_seconds_bucket\{le="0\.001",decision="allow"\} \d+$/m);
    // First Check read the store, the next four hit; the update replaced the entry with the key
    // as it is now (counted as a change), so the Check after it hit too.
    expect(value(text, "keygate_key_cache_misses_total")).toBe(1);
    expect(value(text, 'keygate_key_cache_hits_total{kind="key"}')).toBe(5);
    expect(value(text, 'keygate_key_cache_evictions_total{cause="changed"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, "keygate_key_cache_entries")).toBe(1);
    // Two for Check; admin RPCs authenticate their caller by hash too.
    expect(value(text, 'keygate_store_operation_duration_seconds_count{repository="keys",operation="findByHash"}')).toBeGreaterThanOrEqual(2);
    expect(value(text, 'keygate_store_operation_duration_seconds_count{repository="store",operation="ping"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'keygate_admin_rpcs_total{method="CreateKey",code="OK"}')).toBe(1);
    expect(value(text, 'keygate_admin_rpcs_total{method="GetKey",code="NotFound"}')).toBe(1);
    expect(value(text, 'keygate_admin_rpcs_total{method="ListKeys",code="Unauthenticated"}')).toBe(1);
    expect(value(text, 'keygate_admin_rpc_duration_seconds_count{method="UpdateKey"}')).toBe(1);
    expect(value(text, "keygate_usage_buffer_entries")).toBeGreaterThanOrEqual(0);
    expect(value(text, "keygate_usage_batches_flushed_total")).toBeGreaterThanOrEqual(1);
    expect(value(text, "keygate_usage_flush_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(text).toContain("# TYPE keygate_store_errors_total counter");
    expect(text).toContain("process_resident_memory_bytes");

    for (const forbidden of [secret, secret.slice(8), t.admin.secret, key!.keyPrefix, key!.id, t.admin.key.id, "/v1/machines"]) {
      expect(text).not.toContain(forbidden);
    }
  });

  it("keeps a registry per app, so two apps in one process count apart", async () => {
    const [a, b] = await Promise.all([startTestApp(), startTestApp()]);
    running.push(a, b);
    await a.client.listKeys({});
    await a.client.listKeys({});
    await b.client.listKeys({});
    expect(value(await scrape(a), 'keygate_admin_rpcs_total{method="ListKeys",code="OK"}')).toBe(2);
    expect(value(await scrape(b), 'keygate_admin_rpcs_total{method="ListKeys",code="OK"}')).toBe(1);
    const post = await fetch(`${a.app.url}/metrics`, { method: "POST" });
    expect(post.status).toBe(405);
  });

  it("times store calls and counts failed ones, running each method on the real store", async () => {
    const metrics = new Metrics({ processMetrics: false });
    class Repository {
      readonly #rows = new Map([["a", 1]]);
      async find(id: string) {
        return this.#rows.get(id) ?? null;
      }
      async fail(): Promise<never> {
        throw new Error("store down");
      }
    }
    const store = instrumentStore({ kind: "memory", keys: new Repository(), ping: async () => undefined }, metrics.store);
    expect(await store.keys.find("a")).toBe(1);
    await expect(store.keys.fail()).rejects.toThrow("store down");
    await store.ping();
    expect(store.kind).toBe("memory");
    const text = (await metrics.scrape()).text;
    expect(value(text, 'keygate_store_operation_duration_seconds_count{repository="keys",operation="find"}')).toBe(1);
    expect(value(text, 'keygate_store_errors_total{repository="keys",operation="fail"}')).toBe(1);
    expect(value(text, 'keygate_store_operation_duration_seconds_count{repository="store",operation="ping"}')).toBe(1);
    metrics.close();
  });

  it("mirrors the usage recorder's own counters, labelled ones included", async () => {
    const metrics = new Metrics({ processMetrics: false });
    const counts: Record<string, number> = { usage_increments_dropped_total: 2 };
    metrics.watchUsage({ unflushedEntries: 0, onFlushed: () => () => {} }, { snapshot: () => ({ ...counts }) });
    expect(value((await metrics.scrape()).text, "keygate_usage_increments_dropped_total")).toBe(2);
    counts["usage_increments_dropped_total"] = 5;
    counts['access_log_entries_total{result="recorded"}'] = 7;
    counts["not a metric name"] = 1;
    const text = (await metrics.scrape()).text;
    expect(value(text, "keygate_usage_increments_dropped_total")).toBe(5);
    expect(value(text, 'keygate_access_log_entries_total{result="recorded"}')).toBe(7);
    expect(text).toContain("# TYPE keygate_access_log_entries_total counter");
    metrics.close();
  });

  it("mirrors usage counters into its own registry only: two apps in one process each scrape the same names", async () => {
    const snapshot = () => ({ 'access_log_entries_total{result="recorded"}': 1 });
    const first = new Metrics({ processMetrics: false });
    first.watchUsage({ unflushedEntries: 0, onFlushed: () => () => {} }, { snapshot });
    const second = new Metrics({ processMetrics: false });
    second.watchUsage({ unflushedEntries: 0, onFlushed: () => () => {} }, { snapshot });
    expect(value((await first.scrape()).text, 'keygate_access_log_entries_total{result="recorded"}')).toBe(1);
    first.close();
    expect(value((await second.scrape()).text, 'keygate_access_log_entries_total{result="recorded"}')).toBe(1);
    second.close();
  });

  it("counts data-plane calls admitted with the previous token, by method, from 0", async () => {
    const metrics = new Metrics({ processMetrics: false });
    expect(value((await metrics.scrape()).text, 'keygate_data_plane_previous_token_total{method="Check"}')).toBe(0);
    metrics.dataPlane.admittedWithPreviousToken("Check");
    metrics.dataPlane.admittedWithPreviousToken("StreamAccessLogs");
    metrics.dataPlane.admittedWithPreviousToken("Check");
    const text = (await metrics.scrape()).text;
    expect(value(text, 'keygate_data_plane_previous_token_total{method="Check"}')).toBe(2);
    expect(value(text, 'keygate_data_plane_previous_token_total{method="StreamAccessLogs"}')).toBe(1);
    metrics.close();
  });

  it("reports the usage buffer and, while usage waits, how long since it last reached the store", async () => {
    let now = 1_000;
    const metrics = new Metrics({ processMetrics: false, nowMs: () => now });
    let listener = () => {};
    const source = {
      unflushedEntries: 0,
      onFlushed(l: () => void) {
        listener = l;
        return () => {};
      },
    };
    metrics.watchUsage(source);
    source.unflushedEntries = 3;
    now += 2_500;
    let text = (await metrics.scrape()).text;
    expect(value(text, "keygate_usage_buffer_entries")).toBe(3);
    expect(value(text, "keygate_usage_flush_lag_seconds")).toBe(2.5);
    listener();
    source.unflushedEntries = 0;
    text = (await metrics.scrape()).text;
    expect(value(text, "keygate_usage_flush_lag_seconds")).toBe(0);
    expect(value(text, "keygate_usage_flushes_total")).toBe(1);
    metrics.close();
  });
});
