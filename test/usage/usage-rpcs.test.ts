import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessLogService, StreamAccessLogsMessageSchema, type StreamAccessLogsMessage } from "../../gen/envoy/service/accesslog/v3/als_pb.js";
import { RateLimitPeriod, UsagePeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../src/model/ids.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { envoyRequest, outcomeOf } from "../authz/check-harness.js";
import { envoyClient, type EnvoyClient } from "../authz/envoy-client.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";
import { leasingOnClock } from "../support/leasing-on-clock.js";
import { describeAccessLogCounts } from "./usage-rpcs/access-log-counts.js";
import { describeBillingAndQuota } from "./usage-rpcs/billing-and-quota.js";
import { describeKeyUsage } from "./usage-rpcs/key-usage.js";
import { describeOrganizationUsage } from "./usage-rpcs/organization-usage.js";
import { describeUsageRefusals } from "./usage-rpcs/refusals.js";
import { at } from "./usage-rpcs/seeded-world.js";

/**
 * Every usage RPC against a known mix of Checks (through the real Check service, over gRPC as
 * Envoy calls it) on several days and access-log entries (over gRPC as Envoy's http_grpc logger
 * streams them), on both stores. Today is 2031-03-15; the figures the cases expect are worked out
 * by hand.
 *
 * This file seeds that world once per store; the RPCs' cases are one file per area under
 * usage-rpcs/, each taking the world in a beforeAll of its own, which vitest runs after the one
 * here that seeds it (declared first).
 */

const PLAN = {
  name: "metered",
  maxKeysPerOrganization: 50,
  maxKeysPerUser: 50,
  maxRateLimitPerMinute: 1_000,
  monthlyQuota: 12,
  requestsPerMinute: 10,
  canCreateAdminKeys: true,
  currency: "EUR",
  pricePerThousandRequests: 250,
  pricePerMegabyte: 7,
};

const DATA_PLANE_TOKEN = "usage-rpcs-data-plane-token-0123456789abcdef";
const TODAY_NOON = at("2031-03-15T12:00:00Z");

const stores: Array<[string, () => Promise<{ store: Store; cleanup(): Promise<void> }>]> = [
  ["memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} })],
  ["mongodb", async () => freshMongoStore() as Promise<FreshMongoStore>],
];

describe.each(stores)("usage RPCs on the %s store", (_, makeStore) => {
  let backing: { store: Store; cleanup(): Promise<void> };
  let t: TestApp;
  let envoy: EnvoyClient;
  const clock = new ManualClock(at("2031-02-20T12:00:00Z"));
  const keys = { a: "", b: "", c: "", d: "" };
  const secrets = { a: "", b: "", c: "", d: "" };
  let foreignKeyId = "";
  let firstAdminSecret = "";
  let env: Record<string, string>;

  async function checks(secret: string, requests: Array<{ path: string; method?: string; scopes?: string; bytes?: number }>): Promise<string[]> {
    const outcomes: string[] = [];
    for (const request of requests) {
      const headers: Record<string, string> = { "x-api-key": secret };
      if (request.bytes !== undefined) headers["content-length"] = String(request.bytes);
      const response = await envoy.check(
        envoyRequest(headers, {
          path: request.path,
          method: request.method ?? "GET",
          ...(request.scopes && { contextExtensions: { required_scopes: request.scopes } }),
        }),
      );
      outcomes.push(outcomeOf(response));
    }
    return outcomes;
  }

  const logEntry = (fields: { keyId?: string; orgId?: string; via?: "metadata" | "headers"; start: string; status: number; ms?: number; bytes?: number; uaex?: boolean }): JsonValue => {
    const identity = { key_id: fields.keyId ?? keys.a, organization_id: fields.orgId ?? t.admin.organization.id };
    const entry: Record<string, any> = {
      commonProperties: {
        startTime: fields.start,
        ...(fields.ms !== undefined && { duration: `${fields.ms / 1000}s` }),
        ...(fields.bytes !== undefined && { downstreamWireBytesReceived: String(Math.floor(fields.bytes / 4)), downstreamWireBytesSent: String(fields.bytes - Math.floor(fields.bytes / 4)) }),
        ...(fields.via !== "headers" && { metadata: { filterMetadata: { "envoy.filters.http.ext_authz": identity } } }),
        ...(fields.uaex && { responseFlags: { unauthorizedDetails: { reason: "EXTERNAL_SERVICE" } } }),
      },
      request: {
        requestMethod: "GET",
        path: "/v1/machines/1",
        ...(fields.via === "headers" && { requestHeaders: { "x-keygate-key-id": identity.key_id, "x-keygate-organization-id": identity.organization_id } }),
      },
      response: { responseCode: fields.status },
    };
    return entry as JsonValue;
  };

  async function streamLogs(messages: JsonValue[]): Promise<void> {
    // As Envoy sends them: with the data-plane token, without which the stream is refused.
    const als = createClient(AccessLogService, createGrpcTransport({ baseUrl: t.app.url, interceptors: [bearer(DATA_PLANE_TOKEN)] }));
    async function* send(): AsyncIterable<StreamAccessLogsMessage> {
      for (const message of messages) yield fromJson(StreamAccessLogsMessageSchema, message);
    }
    await als.streamAccessLogs(send());
  }

  beforeAll(async () => {
    const plans = join(tmpdir(), `keygate-usage-plans-${process.pid}.json`);
    writeFileSync(plans, JSON.stringify([PLAN]));
    env = { KEYGATE_DATA_PLANE_TOKEN: DATA_PLANE_TOKEN, KEYGATE_PLANS_FILE: plans, KEYGATE_DEFAULT_PLAN: "metered", KEYGATE_USAGE_ALERT_THRESHOLDS: "25,80,90", LOG_LEVEL: "silent", KEYGATE_SHUTDOWN_TIMEOUT_MS: "500" };
    backing = await makeStore();
    // The test moves through months with its clock; limits follow it, not MongoDB's real one.
    if (backing.store.sharedAcrossProcesses) backing = { ...backing, store: leasingOnClock(backing.store, clock) };
    t = await startTestApp({ store: backing.store, clock, env });
    firstAdminSecret = t.admin.secret;
    envoy = envoyClient(new URL(t.app.url).host, DATA_PLANE_TOKEN);
    const created = async (name: string, fields: object) => {
      const { key, secret } = await t.client.createKey({ name, ...fields });
      return { id: key!.id, secret };
    };
    const a = await created("alpha", { scopes: ["machines:read", "machines:write", "tags:read"] });
    const b = await created("bravo", { scopes: ["tags:read"], rateLimit: 2, rateLimitPeriod: RateLimitPeriod.MINUTE });
    const c = await created("charlie", { scopes: ["tags:read"] });
    const d = await created("delta", { scopes: ["machines:read"] });
    Object.assign(keys, { a: a.id, b: b.id, c: c.id, d: d.id });
    Object.assign(secrets, { a: a.secret, b: b.secret, c: c.secret, d: d.secret });
    const other = await t.anotherOrganization();
    foreignKeyId = other.key.id;

    // 2031-02-20: last month (billing 2031-02), inside the 30-day period.
    expect(await checks(secrets.a, [1, 2, 3].map((n) => ({ path: `/v1/machines/${n}?x=1`, bytes: 1_000 })))).toEqual(["allowed", "allowed", "allowed"]);
    // 2031-03-07: this month, the week before this one.
    clock.set(at("2031-03-07T12:00:00Z"));
    expect(await checks(secrets.a, [{ path: "/v1/machines" }, { path: "/v1/machines" }])).toEqual(["allowed", "allowed"]);
    expect(await checks(secrets.b, [{ path: "/v1/tags/9" }])).toEqual(["allowed"]);
    // 2031-03-14: yesterday.
    clock.set(at("2031-03-14T12:00:00Z"));
    expect(
      await checks(secrets.a, [{ path: "/v1/machines/10" }, { path: "/v1/machines/11" }, { path: "/v1/machines", method: "POST" }, { path: "/v1/machines/12" }]),
    ).toEqual(["allowed", "allowed", "allowed", "allowed"]);
    expect(await checks(secrets.c, [{ path: "/v1/machines/5", scopes: "machines:read" }])).toEqual(["SCOPE_MISSING"]);
    // 2031-03-15: today.
    clock.set(TODAY_NOON);
    await t.client.updateKey({ id: keys.c, isActive: false });
    await t.client.revokeKey({ id: keys.d });
    expect(await checks(secrets.b, [{ path: "/v1/tags" }, { path: "/v1/tags" }, { path: "/v1/tags" }])).toEqual(["allowed", "allowed", "RATE_LIMITED"]);
    expect(await checks(secrets.a, [{ path: "/v1/machines/13" }])).toEqual(["allowed"]);
    expect(await checks(secrets.c, [{ path: "/v1/tags" }])).toEqual(["API_KEY_DISABLED"]);
    expect(await checks(secrets.d, [{ path: "/v1/machines" }])).toEqual(["API_KEY_REVOKED"]);
    clock.advance(30_000);

    await streamLogs([
      {
        identifier: { node: { id: "envoy-1", cluster: "edge" }, logName: "keygate" },
        httpLogs: {
          logEntry: [
            logEntry({ start: "2031-03-14T12:00:01Z", status: 200, ms: 100, bytes: 1_000 }),
            logEntry({ start: "2031-03-14T12:00:02Z", status: 201, ms: 300, bytes: 3_000 }),
            logEntry({ start: "2031-03-14T12:00:03Z", status: 502, ms: 50, bytes: 500 }),
            // Ignored: no identity, identity only in headers (a client can send those), an ext_authz
            // denial, a key of another organization, an unknown key, no response, and an entry
            // eight days old.
            { commonProperties: { startTime: "2031-03-14T12:00:04Z" }, response: { responseCode: 200 } },
            logEntry({ via: "headers", start: "2031-03-14T12:00:04.500Z", status: 500, ms: 100, bytes: 1_000_000_000 }),
            logEntry({ start: "2031-03-14T12:00:05Z", status: 403, uaex: true }),
            logEntry({ keyId: foreignKeyId, start: "2031-03-14T12:00:06Z", status: 200 }),
            logEntry({ keyId: newId("key"), start: "2031-03-14T12:00:07Z", status: 200 }),
            logEntry({ start: "2031-03-14T12:00:08Z", status: 0 }),
            logEntry({ start: "2031-03-07T12:00:00Z", status: 200 }),
          ],
        },
      },
      { httpLogs: { logEntry: [logEntry({ start: "2031-03-15T12:00:00.500Z", status: 200, ms: 150, bytes: 1_500_000 })] } },
      { identifier: { logName: "keygate" } },
    ]);
    await t.app.usage.recorder.flush();
  });

  afterAll(async () => {
    envoy?.close();
    await t?.close();
    await backing?.cleanup();
  });

  const seeded = () => ({ t, keys, foreignKeyId });
  describeAccessLogCounts(seeded);
  describeKeyUsage(seeded);
  describeOrganizationUsage(seeded);
  describeBillingAndQuota(seeded);
  describeUsageRefusals(seeded);

  // Last, as it restarts the app the world was seeded through.
  it("loses no count at shutdown: a new app on the same store sees what the old one had not flushed", async () => {
    // An app that flushes only at shutdown, so the counts are still unwritten when it stops
    // (a periodic flush landing between the Checks, on a busy machine, made this count 2).
    const restart = async (extra: Record<string, string> = {}) => {
      envoy.close();
      await t.close();
      t = await startTestApp({ store: backing.store, clock, env: { ...env, ...extra } });
      envoy = envoyClient(new URL(t.app.url).host, DATA_PLANE_TOKEN);
    };
    await restart({ KEYGATE_USAGE_FLUSH_INTERVAL_MS: "3600000" });
    clock.set(at("2031-03-15T12:05:00Z"));
    expect(await checks(secrets.a, [{ path: "/v1/machines/14" }, { path: "/v1/machines/15" }])).toEqual(["allowed", "allowed"]);
    expect(t.app.usage.recorder.unflushedEntries).toBe(1);
    await restart();
    const client = t.clientFor(firstAdminSecret);
    expect(await client.getKeyUsage({ id: keys.a, period: UsagePeriod.DAY })).toMatchObject({ totalRequests: 3n });
    // The new process seeds the monthly quota from the store: 12 of 12 used, so the next is refused.
    expect(await checks(secrets.a, [{ path: "/v1/machines/16" }])).toEqual(["QUOTA_EXCEEDED"]);
    expect(await client.getQuotaStatus({})).toMatchObject({ quota: { used: 12n, remaining: 0n, percentUsed: 100 } });
  });
});
