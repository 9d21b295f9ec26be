import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { DEFAULT_PLANS } from "../../src/config/plans.js";
import { MongoStore } from "../../src/store/mongo/mongo-store.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { checker } from "./check-client.js";

/**
 * Rate limits across two replicas on one real MongoDB: each pushes the requests it admitted and
 * reads back the other's every KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS, so together they admit the
 * limit plus at most what both admit within one sync interval and a round trip, not twice it.
 */
const LIMIT = 40;
const SYNC_INTERVAL_MS = 100;
const PACE_MS = 25;

describe("rate limits across replicas", () => {
  let shared: FreshMongoStore;
  let storeB: MongoStore;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const plansFile = join(mkdtempSync(join(tmpdir(), "keygate-plans-")), "plans.json");
    // A second organization on this plan gets a per-minute rate of LIMIT.
    const plans = DEFAULT_PLANS.map((p) => (p.name === "pro" ? { ...p, requestsPerMinute: LIMIT } : p));
    writeFileSync(plansFile, JSON.stringify(plans));
    shared = await freshMongoStore();
    storeB = new MongoStore(new MongoClient(inject("mongoUri")), shared.db.databaseName);
    await storeB.init();
    const env = { KEYGATE_PLANS_FILE: plansFile, KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS: String(SYNC_INTERVAL_MS) };
    a = await startTestApp({ store: shared.store, closeStore: false, env });
    b = await startTestApp({ store: storeB, closeStore: false, env });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await storeB?.close();
    await shared?.cleanup();
  });

  /** Sends `count` Checks alternating between the replicas, PACE_MS apart; the outcomes. */
  async function alternate(secret: string, count: number): Promise<Map<string, number>> {
    const replicas = [checker(a.app.url), checker(b.app.url)];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const outcome = await replicas[i % 2]!(secret);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, PACE_MS));
    }
    return outcomes;
  }

  // The bound: both replicas' admissions within one sync interval plus a round trip. At one
  // request per PACE_MS over both, that is (100 ms + round trip) / 25 ms, about 5 to 8 here.
  const BOUND = 10;

  it(`a key limited to ${LIMIT}/minute gets about ${LIMIT} through two replicas, not ${2 * LIMIT}`, async () => {
    const { secret } = await a.client.createKey({
      name: "limited",
      scopes: ["machines:read"],
      rateLimit: LIMIT,
      rateLimitPeriod: RateLimitPeriod.MINUTE,
    });
    const outcomes = await alternate(secret, 3 * LIMIT);
    const allowed = outcomes.get("allowed") ?? 0;
    expect([...outcomes.keys()].sort()).toEqual(["RATE_LIMITED", "allowed"]);
    expect(allowed).toBeGreaterThanOrEqual(LIMIT);
    expect(allowed).toBeLessThanOrEqual(LIMIT + BOUND);
  });

  it(`an organization's ${LIMIT}/minute plan rate holds across both replicas`, async () => {
    const organization = await a.anotherOrganization("pro");
    const { secret } = await a.clientFor(organization.secret).createKey({ name: "unlimited key", scopes: ["machines:read"] });
    const outcomes = await alternate(secret, 3 * LIMIT);
    const allowed = outcomes.get("allowed") ?? 0;
    expect([...outcomes.keys()].sort()).toEqual(["QUOTA_EXCEEDED", "allowed"]);
    expect(allowed).toBeGreaterThanOrEqual(LIMIT);
    expect(allowed).toBeLessThanOrEqual(LIMIT + BOUND);
  });
});
