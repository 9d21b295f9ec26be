import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessLogService, StreamAccessLogsMessageSchema, type StreamAccessLogsMessage } from "../../gen/envoy/service/accesslog/v3/als_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  GetAnalyticsSummaryResponseSchema,
  GetBillingUsageResponseSchema,
  GetKeyUsageResponseSchema,
  GetOrganizationUsageResponseSchema,
  RateLimitPeriod,
  UsagePeriod,
  UsageSource,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../src/model/ids.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { accessLogMetric } from "../../src/usage/usage-metrics.js";
import { envoyRequest, outcomeOf } from "../authz/check-harness.js";
import { envoyClient, type EnvoyClient } from "../authz/envoy-client.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";

/**
 * Every usage RPC against a known mix of Checks (through the real Check service, over gRPC as
 * Envoy calls it) on several days and access-log entries (over gRPC as Envoy's http_grpc logger
 * streams them), on both stores. Today is 2031-03-15; the figures below are worked out by hand.
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
const at = (iso: string) => new Date(iso).getTime();
const TODAY_NOON = at("2031-03-15T12:00:00Z");

function daysOfZeros(from: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({ date: new Date(at(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10), requests: 0n, errors: 0n }));
}

function expectReason(error: unknown, code: Code, reason: string, message: RegExp): void {
  expect(error).toBeInstanceOf(ConnectError);
  const connectError = error as ConnectError;
  expect(connectError.code).toBe(code);
  expect(connectError.rawMessage).toMatch(message);
  expect(connectError.findDetails(ErrorInfoSchema).map((d) => d.reason)).toEqual([reason]);
}

async function failure(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error("the call succeeded");
}

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

  it("counts access-log entries it used and those it ignored, by reason", () => {
    const metrics = t.app.usage.metrics;
    expect(
      Object.fromEntries(
        (["recorded", "no_identity", "denied_by_check", "unknown_key", "bad_status", "bad_time", "not_http"] as const).map((r) => [r, metrics.value(accessLogMetric(r))]),
      ),
    ).toEqual({ recorded: 4, no_identity: 2, denied_by_check: 1, unknown_key: 2, bad_status: 1, bad_time: 1, not_http: 1 });
  });

  it("GetKeyUsage: today, with the access log's success and failure", async () => {
    expect(await t.client.getKeyUsage({ id: keys.a, period: UsagePeriod.DAY })).toEqual(
      create(GetKeyUsageResponseSchema, {
        keyId: keys.a,
        period: UsagePeriod.DAY,
        totalRequests: 1n,
        successfulRequests: 1n,
        failedRequests: 0n,
        rateLimitedRequests: 0n,
        endpoints: [{ method: "GET", path: "/v1/machines/{id}", count: 1n }],
        dailyBreakdown: [{ date: "2031-03-15", requests: 1n, errors: 0n }],
        source: UsageSource.ACCESS_LOG,
      }),
    );
  });

  it("GetKeyUsage: the last 7 days, endpoints by count, every day in the breakdown", async () => {
    expect(await t.client.getKeyUsage({ id: keys.a, period: UsagePeriod.WEEK })).toEqual(
      create(GetKeyUsageResponseSchema, {
        keyId: keys.a,
        period: UsagePeriod.WEEK,
        totalRequests: 5n,
        successfulRequests: 3n,
        failedRequests: 1n,
        rateLimitedRequests: 0n,
        endpoints: [
          { method: "GET", path: "/v1/machines/{id}", count: 4n },
          { method: "POST", path: "/v1/machines", count: 1n },
        ],
        dailyBreakdown: [...daysOfZeros("2031-03-09", 5), { date: "2031-03-14", requests: 4n, errors: 1n }, { date: "2031-03-15", requests: 1n, errors: 0n }],
        source: UsageSource.ACCESS_LOG,
      }),
    );
  });

  it("GetKeyUsage: the last 30 days mix days with and without access logs", async () => {
    const month = await t.client.getKeyUsage({ id: keys.a, period: UsagePeriod.MONTH });
    expect({ ...month, dailyBreakdown: month.dailyBreakdown.filter((d) => d.requests > 0n) }).toEqual(
      create(GetKeyUsageResponseSchema, {
        keyId: keys.a,
        period: UsagePeriod.MONTH,
        totalRequests: 10n,
        successfulRequests: 8n,
        failedRequests: 1n,
        rateLimitedRequests: 0n,
        endpoints: [
          { method: "GET", path: "/v1/machines/{id}", count: 7n },
          { method: "GET", path: "/v1/machines", count: 2n },
          { method: "POST", path: "/v1/machines", count: 1n },
        ],
        dailyBreakdown: [
          { date: "2031-02-20", requests: 3n, errors: 0n },
          { date: "2031-03-07", requests: 2n, errors: 0n },
          { date: "2031-03-14", requests: 4n, errors: 1n },
          { date: "2031-03-15", requests: 1n, errors: 0n },
        ],
        source: UsageSource.ACCESS_LOG,
      }),
    );
    expect(month.dailyBreakdown.map((d) => d.date)).toEqual(daysOfZeros("2031-02-14", 30).map((d) => d.date));
  });

  it("GetKeyUsage: Check decisions only, with rate-limited requests", async () => {
    expect(await t.client.getKeyUsage({ id: keys.b, period: UsagePeriod.MONTH })).toMatchObject({
      totalRequests: 4n,
      successfulRequests: 3n,
      failedRequests: 1n,
      rateLimitedRequests: 1n,
      endpoints: [
        { method: "GET", path: "/v1/tags", count: 3n },
        { method: "GET", path: "/v1/tags/{id}", count: 1n },
      ],
      source: UsageSource.CHECK_DECISIONS,
    });
    expect(await t.client.getKeyUsage({ id: keys.d, period: UsagePeriod.DAY })).toMatchObject({
      totalRequests: 1n,
      successfulRequests: 0n,
      failedRequests: 1n,
      endpoints: [{ method: "GET", path: "/v1/machines", count: 1n }],
      source: UsageSource.CHECK_DECISIONS,
    });
  });

  it("GetOrganizationUsage: keys, requests per key and the top endpoints", async () => {
    const expected = (period: UsagePeriod, total: bigint, byKey: Array<[string, string, bigint]>, top: Array<[string, string, bigint]>) =>
      create(GetOrganizationUsageResponseSchema, {
        organizationId: t.admin.organization.id,
        period,
        totalKeys: 5,
        activeKeys: 3,
        totalRequests: total,
        requestsByKey: byKey.map(([keyId, name, requests]) => ({ keyId, name, requests })),
        topEndpoints: top.map(([method, path, count]) => ({ method, path, count })),
        source: UsageSource.ACCESS_LOG,
      });
    expect(await t.client.getOrganizationUsage({ period: UsagePeriod.WEEK })).toEqual(
      expected(
        UsagePeriod.WEEK,
        11n,
        [
          [keys.a, "alpha", 5n],
          [keys.b, "bravo", 3n],
          [keys.c, "charlie", 2n],
          [keys.d, "delta", 1n],
        ],
        [
          ["GET", "/v1/machines/{id}", 5n],
          ["GET", "/v1/tags", 4n],
          ["GET", "/v1/machines", 1n],
          ["POST", "/v1/machines", 1n],
        ],
      ),
    );
    expect(await t.client.getOrganizationUsage({ period: UsagePeriod.DAY })).toEqual(
      expected(
        UsagePeriod.DAY,
        6n,
        [
          [keys.b, "bravo", 3n],
          [keys.a, "alpha", 1n],
          [keys.c, "charlie", 1n],
          [keys.d, "delta", 1n],
        ],
        [
          ["GET", "/v1/tags", 4n],
          ["GET", "/v1/machines", 1n],
          ["GET", "/v1/machines/{id}", 1n],
        ],
      ),
    );
  });

  it("GetBillingUsage: allowed requests and data per key, priced by the plan in integer minor units", async () => {
    const eur = (minorUnits: bigint) => ({ currencyCode: "EUR", minorUnits });
    expect(await t.client.getBillingUsage({ billingPeriod: "2031-03" })).toEqual(
      create(GetBillingUsageResponseSchema, {
        billingPeriod: "2031-03",
        plan: "metered",
        keys: [
          // 7 × 2.50/1000 + 1.5045 MB × 0.07 = 0.0175 + 0.105315 → 12.28 cents → 12
          { keyId: keys.a, name: "alpha", requests: 7n, dataTransferredMb: 1.5045, estimatedCost: eur(12n) },
          // 3 × 0.25 cents = 0.75 → 1
          { keyId: keys.b, name: "bravo", requests: 3n, dataTransferredMb: 0, estimatedCost: eur(1n) },
          { keyId: keys.c, name: "charlie", requests: 0n, dataTransferredMb: 0, estimatedCost: eur(0n) },
          { keyId: keys.d, name: "delta", requests: 0n, dataTransferredMb: 0, estimatedCost: eur(0n) },
        ],
        totalEstimatedCost: eur(13n),
        source: UsageSource.ACCESS_LOG,
      }),
    );
    expect(await t.client.getBillingUsage({ billingPeriod: "2031-02" })).toEqual(
      create(GetBillingUsageResponseSchema, {
        billingPeriod: "2031-02",
        plan: "metered",
        // Without access logs the data is the request sizes Check saw: 3 × 1,000 bytes.
        keys: [{ keyId: keys.a, name: "alpha", requests: 3n, dataTransferredMb: 0.003, estimatedCost: eur(1n) }],
        totalEstimatedCost: eur(1n),
        source: UsageSource.CHECK_DECISIONS,
      }),
    );
    expect(await t.client.getBillingUsage({ billingPeriod: "2030-11" })).toEqual(
      create(GetBillingUsageResponseSchema, { billingPeriod: "2030-11", plan: "metered", totalEstimatedCost: eur(0n), source: UsageSource.CHECK_DECISIONS }),
    );
  });

  it("GetAnalyticsSummary: growth against the period before, response time, error rate, most active key, trends", async () => {
    const week = await t.client.getAnalyticsSummary({ period: UsagePeriod.WEEK });
    expect({ ...week, trends: week.trends.slice(5) }).toEqual(
      create(GetAnalyticsSummaryResponseSchema, {
        period: UsagePeriod.WEEK,
        totalRequests: 11n,
        growthPercent: 266.67, // 11 against 3 in 2031-03-02..08
        avgResponseTimeMs: 150, // (100 + 300 + 50 + 150) / 4
        errorRatePercent: 50, // failed 5 (1 logged 502 + 4 denials) of 10 with an outcome
        mostActiveKey: { keyId: keys.a, name: "alpha", requests: 5n },
        trends: [
          { date: "2031-03-14", requests: 5n, errors: 2n },
          { date: "2031-03-15", requests: 6n, errors: 3n },
        ],
        source: UsageSource.ACCESS_LOG,
      }),
    );
    expect(week.trends.slice(0, 5)).toEqual(daysOfZeros("2031-03-09", 5).map((d) => expect.objectContaining(d)));
    expect(await t.client.getAnalyticsSummary({ period: UsagePeriod.DAY })).toMatchObject({
      totalRequests: 6n,
      growthPercent: 20, // 6 against 5 yesterday
      avgResponseTimeMs: 150,
      errorRatePercent: 50,
      mostActiveKey: { keyId: keys.b, name: "bravo", requests: 3n },
      trends: [{ date: "2031-03-15", requests: 6n, errors: 3n }],
    });
    expect(await t.client.getAnalyticsSummary({ period: UsagePeriod.MONTH })).toMatchObject({
      totalRequests: 17n,
      growthPercent: 0, // nothing in the 30 days before
      mostActiveKey: { keyId: keys.a, requests: 10n },
    });
  });

  it("GetQuotaStatus: monthly quota, per-minute rate and alerts at the configured thresholds", async () => {
    expect(await t.client.getQuotaStatus({})).toMatchObject({
      plan: "metered",
      quota: { requestsPerMonth: 12n, used: 10n, remaining: 2n, percentUsed: 83.33 },
      rateLimits: { requestsPerMinute: 10n, currentUsage: 3n },
      alerts: [
        { thresholdPercent: 25, kind: "monthly_quota", message: "monthly quota: 10 of 12 used (83.33%), at or above the 25% alert threshold" },
        { thresholdPercent: 80, kind: "monthly_quota", message: "monthly quota: 10 of 12 used (83.33%), at or above the 80% alert threshold" },
        { thresholdPercent: 25, kind: "rate_limit", message: "requests in the last minute: 3 of 10 used (30%), at or above the 25% alert threshold" },
      ],
    });
  });

  it("shows usage and the last use on keys from the same data", async () => {
    const { key } = await t.client.getKey({ id: keys.a });
    expect(key?.usage).toMatchObject({ totalRequests: 10n, requestsToday: 1n, requestsThisMonth: 7n });
    expect(key?.lastUsedAt && new Date(Number(key.lastUsedAt.seconds) * 1000).toISOString()).toBe("2031-03-15T12:00:00.000Z");
    const { keys: listed } = await t.client.listKeys({});
    expect(listed.map((k) => [k.name, k.usage?.totalRequests, k.usage?.requestsToday])).toEqual([
      ["bootstrap admin key", 0n, 0n],
      ["alpha", 10n, 1n],
      ["bravo", 4n, 3n],
      ["charlie", 2n, 1n],
      ["delta", 1n, 1n],
    ]);
    expect(listed.find((k) => k.name === "charlie")?.lastUsedAt).toBeUndefined();
  });

  it.each([
    ["unspecified", UsagePeriod.UNSPECIFIED],
    ["outside the enum", 99 as UsagePeriod],
  ])("refuses a period %s, naming the field", async (_, period) => {
    for (const call of [
      () => t.client.getKeyUsage({ id: keys.a, period }),
      () => t.client.getOrganizationUsage({ period }),
      () => t.client.getAnalyticsSummary({ period }),
    ]) {
      expectReason(await failure(call()), Code.InvalidArgument, "API_KEY_FIELD_INVALID", /^period: must be USAGE_PERIOD_DAY, USAGE_PERIOD_WEEK or USAGE_PERIOD_MONTH$/);
    }
  });

  it("refuses billing periods that are not YYYY-MM or lie in the future", async () => {
    for (const [period, message] of [
      ["2031-3", /^billing_period: must be a month as YYYY-MM/],
      ["", /^billing_period: must be a month as YYYY-MM/],
      ["2031-04", /^billing_period: 2031-04 is in the future$/],
    ] as const) {
      expectReason(await failure(t.client.getBillingUsage({ billingPeriod: period })), Code.InvalidArgument, "API_KEY_FIELD_INVALID", message);
    }
  });

  it("reports another organization's key, or an unknown one, as not found", async () => {
    for (const id of [foreignKeyId, newId("key")]) {
      expectReason(await failure(t.client.getKeyUsage({ id, period: UsagePeriod.DAY })), Code.NotFound, "API_KEY_NOT_FOUND", /not found/);
    }
    expectReason(await failure(t.client.getKeyUsage({ id: "", period: UsagePeriod.DAY })), Code.InvalidArgument, "API_KEY_FIELD_INVALID", /^id: is required$/);
  });

  it("loses no count at shutdown: a new app on the same store sees what the old one had not flushed", async () => {
    clock.set(at("2031-03-15T12:05:00Z"));
    expect(await checks(secrets.a, [{ path: "/v1/machines/14" }, { path: "/v1/machines/15" }])).toEqual(["allowed", "allowed"]);
    expect(t.app.usage.recorder.unflushedEntries).toBe(1);
    envoy.close();
    await t.close();
    t = await startTestApp({ store: backing.store, clock, env });
    envoy = envoyClient(new URL(t.app.url).host, DATA_PLANE_TOKEN);
    const client = t.clientFor(firstAdminSecret);
    expect(await client.getKeyUsage({ id: keys.a, period: UsagePeriod.DAY })).toMatchObject({ totalRequests: 3n });
    // The new process seeds the monthly quota from the store: 12 of 12 used, so the next is refused.
    expect(await checks(secrets.a, [{ path: "/v1/machines/16" }])).toEqual(["QUOTA_EXCEEDED"]);
    expect(await client.getQuotaStatus({})).toMatchObject({ quota: { used: 12n, remaining: 0n, percentUsed: 100 } });
  });
});
