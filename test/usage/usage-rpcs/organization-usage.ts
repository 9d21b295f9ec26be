import { create } from "@bufbuild/protobuf";
import { beforeAll, expect, it } from "vitest";
import { GetAnalyticsSummaryResponseSchema, GetOrganizationUsageResponseSchema, UsagePeriod, UsageSource } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../../support/app.js";
import { daysOfZeros, type SeededWorld } from "./seeded-world.js";

/** The organization's figures: GetOrganizationUsage and GetAnalyticsSummary. */
export function describeOrganizationUsage(world: () => SeededWorld): void {
  let t: TestApp;
  let keys: SeededWorld["keys"];
  beforeAll(() => {
    ({ t, keys } = world());
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
        previousTotalRequests: 3n,
      }),
    );
    expect(week.trends.slice(0, 5)).toEqual(daysOfZeros("2031-03-09", 5).map((d) => expect.objectContaining(d)));
    expect(await t.client.getAnalyticsSummary({ period: UsagePeriod.DAY })).toMatchObject({
      totalRequests: 6n,
      growthPercent: 20, // 6 against 5 yesterday
      previousTotalRequests: 5n,
      avgResponseTimeMs: 150,
      errorRatePercent: 50,
      mostActiveKey: { keyId: keys.b, name: "bravo", requests: 3n },
      trends: [{ date: "2031-03-15", requests: 6n, errors: 3n }],
    });
    expect(await t.client.getAnalyticsSummary({ period: UsagePeriod.MONTH })).toMatchObject({
      totalRequests: 17n,
      growthPercent: 0, // nothing in the 30 days before
      previousTotalRequests: 0n,
      mostActiveKey: { keyId: keys.a, requests: 10n },
    });
  });
}
