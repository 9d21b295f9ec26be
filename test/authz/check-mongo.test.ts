import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp } from "../../src/app.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { countingStore, createHarness, envoyRequest, expectFixtureAnswer, fixtureOptions, fixtureRequest, loadFixtures, outcomeOf } from "./check-harness.js";
import { envoyClient } from "./envoy-client.js";

/** The same Check scenarios with keys in MongoDB (the run's mongod, a database of this file's own). */

let mongo: FreshMongoStore;
beforeAll(async () => {
  mongo = await freshMongoStore();
});
afterAll(async () => {
  await mongo?.cleanup();
});

describe("Check on the MongoDB store", () => {
  it.each(loadFixtures())("%s", async (_name, fixture) => {
    const h = await createHarness({ ...fixtureOptions(fixture), backing: mongo.store });
    await expectFixtureAnswer(fixture, await fixtureRequest(h, fixture), (request) => h.service.check(request));
  });

  it("200 parallel Checks on a cold key limited to 100/minute admit exactly 100 with one store read; then hits read nothing", async () => {
    let counted!: ReturnType<typeof countingStore>;
    const h = await createHarness({
      backing: mongo.store,
      config: { cacheTtlMs: 300_000 },
      wrapStore: (store) => (counted = countingStore(store)).store,
    });
    const { secret } = await h.createKey({ rateLimit: { limit: 100, period: "minute" } });
    const outcomes = (await Promise.all(Array.from({ length: 200 }, () => h.service.check(envoyRequest({ "x-api-key": secret }))))).map(outcomeOf);
    expect(outcomes.filter((o) => o === "allowed").length).toBe(100);
    expect(outcomes.filter((o) => o === "RATE_LIMITED").length).toBe(100);
    expect(counted.calls.keys.get("findByHash")).toBe(1);
    const before = counted.calls.total();
    h.clock.advance(61_000);
    for (let i = 0; i < 50; i++) expect(outcomeOf(await h.service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    expect(counted.calls.total()).toBe(before);
  });

  it("end to end through keygate's server: allow, then revoke through the app's key events", async () => {
    const h = await createHarness({ backing: mongo.store, config: { port: 0, host: "127.0.0.1" } });
    const app = await startApp({ config: h.config, store: mongo.store, logger: pino({ level: "silent" }), clock: h.clock });
    const client = envoyClient(`127.0.0.1:${app.port}`);
    try {
      const { secret, key } = await h.createKey({ scopes: ["machines:read"] });
      const allowed = await client.check(envoyRequest({ authorization: `Bearer ${secret}` }, { contextExtensions: { required_scopes: "machines:read" } }));
      expect(outcomeOf(allowed)).toBe("allowed");
      expect(allowed.dynamicMetadata?.["key_id"]).toBe(key.id);
      const revoked = await mongo.store.keys.revoke(key.organizationId, key.id, new Date(h.clock.now()));
      app.keyEvents.changed(revoked!);
      expect(outcomeOf(await client.check(envoyRequest({ "x-api-key": secret })))).toBe("API_KEY_REVOKED");
    } finally {
      client.close();
      // The store belongs to this file; the app must not close it.
      await app.close();
    }
  });
});
