import { create } from "@bufbuild/protobuf";
import { beforeAll, expect, it } from "vitest";
import { GetKeyUsageResponseSchema, KeyOrder, UsagePeriod, UsageSource } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../../support/app.js";
import { daysOfZeros, type SeededWorld } from "./seeded-world.js";

/** GetKeyUsage over a day, a week and a month, from access logs or Check decisions, and the usage shown on keys. */
export function describeKeyUsage(world: () => SeededWorld): void {
  let t: TestApp;
  let keys: SeededWorld["keys"];
  beforeAll(() => {
    ({ t, keys } = world());
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

  it("shows usage and the last use on keys from the same data", async () => {
    const { key } = await t.client.getKey({ id: keys.a });
    expect(key?.usage).toMatchObject({ totalRequests: 10n, requestsToday: 1n, requestsThisMonth: 7n });
    expect(key?.lastUsedAt && new Date(Number(key.lastUsedAt.seconds) * 1000).toISOString()).toBe("2031-03-15T12:00:00.000Z");
    const { keys: listed } = await t.client.listKeys({ orderBy: KeyOrder.CREATED_ASC });
    expect(listed.map((k) => [k.name, k.usage?.totalRequests, k.usage?.requestsToday])).toEqual([
      ["bootstrap admin key", 0n, 0n],
      ["alpha", 10n, 1n],
      ["bravo", 4n, 3n],
      ["charlie", 2n, 1n],
      ["delta", 1n, 1n],
    ]);
    expect(listed.find((k) => k.name === "charlie")?.lastUsedAt).toBeUndefined();
  });
}
