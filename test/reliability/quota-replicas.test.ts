import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestApp } from "../support/app.js";
import { checker } from "./check-client.js";
import { startReplicaPair, type ReplicaPair } from "./replica-pair.js";

/**
 * The monthly quota across two replicas: each re-reads the counts it holds every
 * KEYGATE_QUOTA_REFRESH_INTERVAL_MS, so together they admit the quota plus at most what both
 * admit within one flush + refresh interval, not twice the quota.
 */
const QUOTA = 40;

describe("monthly quota across replicas", () => {
  let pair: ReplicaPair;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    pair = await startReplicaPair({
      plans: (plans) => plans.map((p) => (p.name === "free" ? { ...p, monthlyQuota: QUOTA, requestsPerMinute: 100_000 } : p)),
      plan: "free",
      env: { KEYGATE_USAGE_FLUSH_INTERVAL_MS: "100", KEYGATE_QUOTA_REFRESH_INTERVAL_MS: "200" },
    });
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  it(`two replicas sharing a ${QUOTA}-request month admit about ${QUOTA}, not ${2 * QUOTA}`, async () => {
    const { secret } = await a.client.createKey({ name: "metered", scopes: ["machines:read"] });
    const replicas = [checker(a.app.url), checker(b.app.url)];
    let allowed = 0;
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 3 * QUOTA; i++) {
      const outcome = await replicas[i % 2]!(secret);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcome === "allowed") allowed++;
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    expect([...outcomes.keys()].sort()).toEqual(["QUOTA_EXCEEDED", "allowed"]);
    // Bound: both replicas' admissions within flush (100 ms) + refresh (200 ms) + a read, at 25/s.
    expect(allowed).toBeGreaterThanOrEqual(QUOTA - 4);
    expect(allowed).toBeLessThanOrEqual(QUOTA + 10);
  });
});
