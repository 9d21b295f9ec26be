import { describe, expect, it } from "vitest";
import type { PlanLimits } from "../../src/limits/check-limits.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { MonthlyQuota } from "../../src/limits/monthly-quota.js";
import type { KeyRecord } from "../../src/model/records.js";
import { ManualClock } from "../../src/time/clock.js";

const PLAN: PlanLimits = { name: "test", requestsPerMinute: 1_000, monthlyQuota: 1_000_000 };

function key(id: string, rateLimit: KeyRecord["rateLimit"] = null, organizationId = "org_A") {
  return { id, organizationId, rateLimit };
}

function setup(load: (organizationId: string, monthStartMs: number) => Promise<number> = async () => 0) {
  const clock = new ManualClock();
  const loads: string[] = [];
  const limits = new LocalLimits({
    clock,
    maxBuckets: 1_000,
    maxOrganizations: 100,
    loadMonthlyRequests: (organizationId, monthStartMs) => {
      loads.push(`${organizationId}@${new Date(monthStartMs).toISOString()}`);
      return load(organizationId, monthStartMs);
    },
  });
  return { clock, limits, loads };
}

/** Counts the organization's month the way Check does: the first admit waits for it and counts nothing. */
async function ready(limits: LocalLimits, organizationId: string, nowMs: number): Promise<void> {
  const first = limits.admit(key("key_probe", null, organizationId), PLAN, nowMs);
  if (!("waitFor" in first)) throw new Error("the month was counted already");
  await first.waitFor;
}

describe("LocalLimits.admit", () => {
  it("checks the key's limit first, then the organization's per-minute rate, then the monthly quota", async () => {
    const { clock, limits } = setup();
    const plan = { ...PLAN, requestsPerMinute: 3, monthlyQuota: 5 };
    await ready(limits, "org_A", clock.now());
    const limited = key("key_1", { limit: 1, period: "minute" });
    expect(limits.admit(limited, plan, clock.now())).toMatchObject({ admitted: true });
    expect(limits.admit(limited, plan, clock.now())).toMatchObject({ admitted: false, reason: "RATE_LIMITED" });
    expect(limits.admit(key("key_2"), plan, clock.now())).toMatchObject({ admitted: true });
    expect(limits.admit(key("key_3"), plan, clock.now())).toMatchObject({ admitted: true });
    expect(limits.admit(key("key_4"), plan, clock.now())).toMatchObject({ admitted: false, reason: "QUOTA_EXCEEDED", state: { limit: 3 } });
    clock.advance(61_000);
    expect(limits.admit(key("key_4"), plan, clock.now())).toMatchObject({ admitted: true });
    expect(limits.admit(key("key_4"), plan, clock.now())).toMatchObject({ admitted: true });
    expect(limits.admit(key("key_4"), plan, clock.now())).toMatchObject({
      admitted: false,
      reason: "QUOTA_EXCEEDED",
      state: { limit: 5, remaining: 0, resetAtMs: Date.UTC(2026, 1, 1), retryAtMs: Date.UTC(2026, 1, 1) },
    });
  });

  it("a refusal at any stage counts nothing anywhere", async () => {
    const { clock, limits } = setup();
    const plan = { ...PLAN, requestsPerMinute: 2 };
    await ready(limits, "org_A", clock.now());
    const a = key("key_a", { limit: 10, period: "minute" });
    limits.admit(a, plan, clock.now());
    limits.admit(a, plan, clock.now());
    for (let i = 0; i < 5; i++) expect(limits.admit(a, plan, clock.now())).toMatchObject({ reason: "QUOTA_EXCEEDED" });
    expect(limits.peekLimits(a, null, clock.now())[0]!.state.remaining).toBe(8);
    expect(limits.peekOrganization("org_A", plan, clock.now()).perMinute.remaining).toBe(0);
    expect(limits.peekOrganization("org_A", plan, clock.now()).monthly?.remaining).toBe(PLAN.monthlyQuota - 2);
  });

  it("an admission reports the tightest limit", async () => {
    const { clock, limits } = setup();
    await ready(limits, "org_A", clock.now());
    expect(limits.admit(key("k", { limit: 10, period: "hour" }), PLAN, clock.now())).toMatchObject({ admitted: true, state: { limit: 10, remaining: 9 } });
    expect(limits.admit(key("k2"), { ...PLAN, requestsPerMinute: 5 }, clock.now())).toMatchObject({ admitted: true, state: { limit: 5, remaining: 3 } });
  });

  it("peeks without counting: TestKey's view of a key, the quota status of an organization", async () => {
    const { clock, limits } = setup(async () => 40);
    const limited = key("key_1", { limit: 3, period: "second" });
    expect(limits.peekLimits(key("key_0"), null)).toEqual([]);
    expect(limits.peekLimits(limited, null).map((peek) => peek.state)).toEqual([{ limit: 3, remaining: 3, resetAtMs: clock.now(), retryAtMs: clock.now() }]);
    expect(limits.peekOrganization("org_A", PLAN).monthly).toBeNull();
    await ready(limits, "org_A", clock.now());
    limits.admit(limited, PLAN, clock.now());
    expect(limits.peekLimits(limited, null)).toMatchObject([{ line: { name: "default" }, state: { limit: 3, remaining: 2 } }]);
    expect(limits.peekLimits(limited, null)).toMatchObject([{ line: { name: "default" }, state: { limit: 3, remaining: 2 } }]);
    expect(limits.peekOrganization("org_A", PLAN)).toMatchObject({
      perMinute: { limit: 1_000, remaining: 999 },
      monthly: { limit: 1_000_000, remaining: 1_000_000 - 41 },
    });
  });
});

describe("MonthlyQuota", () => {
  it("seeds once per organization and month, single-flight, and adds admitted requests", async () => {
    const loads: string[] = [];
    let release!: (n: number) => void;
    const quota = new MonthlyQuota({
      loadMonthlyRequests: (organizationId, monthStartMs) => {
        loads.push(`${organizationId}@${monthStartMs}`);
        return new Promise((resolve) => (release = resolve));
      },
    });
    const now = Date.UTC(2026, 0, 15);
    const waits = Array.from({ length: 50 }, () => quota.ready("org_A", now));
    expect(new Set(waits).size).toBe(1);
    release(7);
    await Promise.all(waits);
    expect(quota.ready("org_A", now)).toBeUndefined();
    expect(loads).toEqual([`org_A@${Date.UTC(2026, 0, 1)}`]);
    expect(quota.hit("org_A", 10, now)).toMatchObject({ remaining: 2 });
    expect(quota.check("org_A", 10, now)).toMatchObject({ remaining: 2 });
  });

  it("a new month needs a new seed; a failed load is retried by the next caller", async () => {
    let fail = true;
    const quota = new MonthlyQuota({
      loadMonthlyRequests: async () => {
        if (fail) throw new Error("down");
        return 3;
      },
    });
    await expect(quota.ready("org_A", Date.UTC(2026, 0, 15))).rejects.toThrow("down");
    fail = false;
    await quota.ready("org_A", Date.UTC(2026, 0, 15));
    expect(quota.peek("org_A", 10, Date.UTC(2026, 0, 15))).toMatchObject({ remaining: 7 });
    expect(quota.peek("org_A", 10, Date.UTC(2026, 1, 1))).toBeNull();
    expect(quota.ready("org_A", Date.UTC(2026, 1, 1))).toBeInstanceOf(Promise);
  });

  it("bad stored counts seed as zero", async () => {
    for (const stored of [-5, Number.NaN, 1.5, Number.POSITIVE_INFINITY]) {
      const quota = new MonthlyQuota({ loadMonthlyRequests: async () => stored });
      await quota.ready("org_A", Date.UTC(2026, 0, 15));
      expect(quota.check("org_A", 10, Date.UTC(2026, 0, 15)).remaining).toBe(10);
    }
  });

  it("holds a bounded number of organizations", async () => {
    const quota = new MonthlyQuota({ loadMonthlyRequests: async () => 0, maxOrganizations: 10 });
    const now = Date.UTC(2026, 0, 15);
    for (let i = 0; i < 100; i++) await quota.ready(`org_${i}`, now);
    expect(quota.peek("org_0", 10, now)).toBeNull();
    expect(quota.peek("org_99", 10, now)).not.toBeNull();
  });
});
