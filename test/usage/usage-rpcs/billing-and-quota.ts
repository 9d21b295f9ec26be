import { create } from "@bufbuild/protobuf";
import { beforeAll, expect, it } from "vitest";
import { GetBillingUsageResponseSchema, UsageSource } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../../support/app.js";
import type { SeededWorld } from "./seeded-world.js";

/** What the plan makes of the usage: GetBillingUsage priced per key, and GetQuotaStatus with its alerts. */
export function describeBillingAndQuota(world: () => SeededWorld): void {
  let t: TestApp;
  let keys: SeededWorld["keys"];
  beforeAll(() => {
    ({ t, keys } = world());
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
}
