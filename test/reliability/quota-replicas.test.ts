import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoClient } from "mongodb";
import { inject } from "vitest";
import { DEFAULT_PLANS } from "../../src/config/plans.js";
import { MongoStore } from "../../src/store/mongo/mongo-store.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { checker } from "./check-client.js";

/**
 * The monthly quota across two replicas: each re-reads the counts it holds every
 * KEYGATE_QUOTA_REFRESH_INTERVAL_MS, so together they admit the quota plus at most what both
 * admit within one flush + refresh interval, not twice the quota.
 */
const QUOTA = 40;

describe("monthly quota across replicas", () => {
  let shared: FreshMongoStore;
  let storeB: MongoStore;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const plansFile = join(mkdtempSync(join(tmpdir(), "keygate-plans-")), "plans.json");
    writeFileSync(plansFile, JSON.stringify(DEFAULT_PLANS.map((p) => (p.name === "free" ? { ...p, monthlyQuota: QUOTA, requestsPerMinute: 100_000 } : p))));
    shared = await freshMongoStore();
    storeB = new MongoStore(new MongoClient(inject("mongoUri")), shared.db.databaseName);
    await storeB.init();
    const env = {
      KEYGATE_PLANS_FILE: plansFile,
      KEYGATE_USAGE_FLUSH_INTERVAL_MS: "100",
      KEYGATE_QUOTA_REFRESH_INTERVAL_MS: "200",
    };
    a = await startTestApp({ store: shared.store, closeStore: false, env, plan: "free" });
    b = await startTestApp({ store: storeB, closeStore: false, env, plan: "free" });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await storeB?.close();
    await shared?.cleanup();
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
