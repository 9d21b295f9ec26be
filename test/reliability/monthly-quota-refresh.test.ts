import { describe, expect, it } from "vitest";
import { MonthlyQuota } from "../../src/limits/monthly-quota.js";

describe("MonthlyQuota.refresh", () => {
  const now = Date.UTC(2026, 10, 15);

  it("takes in what the store says now, keeps requests counted during the read, never lowers a count", async () => {
    let stored = 10;
    let release: () => void = () => {};
    let gated = false;
    const quota = new MonthlyQuota({
      loadMonthlyRequests: async () => {
        if (gated) await new Promise<void>((resolve) => (release = resolve));
        return stored;
      },
    });
    await quota.ready("org", now);
    expect(quota.check("org", 100, now).remaining).toBe(90);

    stored = 50; // other replicas flushed 40 more
    expect(await quota.refresh(now)).toBe(true);
    expect(quota.check("org", 100, now).remaining).toBe(50);

    gated = true;
    stored = 60;
    const refreshing = quota.refresh(now);
    await new Promise((resolve) => setTimeout(resolve, 0));
    quota.hit("org", 100, now); // counted here while the read ran
    quota.hit("org", 100, now);
    release();
    await refreshing;
    expect(quota.check("org", 100, now).remaining).toBe(100 - 62);

    gated = false;
    stored = 0; // a store answer below the count (data removed): the count stays
    await quota.refresh(now);
    expect(quota.check("org", 100, now).remaining).toBe(38);
  });

  it("reports false when the store cannot be read, and keeps the counts", async () => {
    let fail = false;
    const quota = new MonthlyQuota({
      loadMonthlyRequests: async () => {
        if (fail) throw new Error("store down");
        return 5;
      },
    });
    await quota.ready("org", now);
    fail = true;
    expect(await quota.refresh(now)).toBe(false);
    expect(quota.check("org", 100, now).remaining).toBe(95);
  });
});
