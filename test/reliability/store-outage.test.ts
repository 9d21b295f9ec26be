import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { MongoMemoryServer } from "mongodb-memory-server-core";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { generateSecret } from "../../src/model/secret.js";
import { createMongoStore, type MongoStore } from "../../src/store/mongo/mongo-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { restartMongod, startMongod } from "../support/mongod-launch.js";
import { MONGOD_HOOK_TIMEOUT_MS } from "../support/mongod-timeout.js";
import { checker, within } from "./check-client.js";

/**
 * A real mongod of this file's own, stopped and started again under a running keygate: admin
 * RPCs fail fast with `unavailable`, /readyz turns 503, cached keys keep working up to the
 * staleness bound (fail-static), unknown keys are not admitted (fail-closed), usage counted
 * meanwhile is written once the store is back, and all of it recovers without a restart.
 */
const STALENESS_MS = 120_000;
const TTL_MS = 30_000;

async function rpcCode(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (error) {
    return Code[ConnectError.from(error).code];
  }
}

/** The code and the ErrorInfo reason of a failed call. */
async function rpcReason(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (error) {
    const connectError = ConnectError.from(error);
    const [info] = connectError.findDetails(ErrorInfoSchema);
    return `${Code[connectError.code]} ${info?.reason ?? "(no reason)"}`;
  }
}

async function health(url: string): Promise<string> {
  const client = createClient(Health, createGrpcTransport({ baseUrl: url }));
  const response = await client.check({ service: "" });
  return HealthCheckResponse_ServingStatus[response.status];
}

async function readyz(url: string): Promise<string> {
  const response = await fetch(`${url}/readyz`);
  return String(response.status);
}

describe("store outage: fail fast, fail-static, fail-closed, recover", () => {
  let mongod: MongoMemoryServer;
  let store: MongoStore;
  let t: TestApp;
  let clock: ManualClock;
  let check: ReturnType<typeof checker>;

  beforeAll(async () => {
    mongod = await startMongod();
    // Writes wait 2 s for a server here (production waits out an election: 15 s by default).
    store = createMongoStore(mongod.getUri(), "keygate_outage", { writeWaitMs: 2_000 });
    await store.init();
    clock = new ManualClock(Date.now());
    t = await startTestApp({
      store,
      clock,
      closeStore: false,
      env: { KEYGATE_CACHE_MAX_STALENESS_MS: String(STALENESS_MS), KEYGATE_CACHE_TTL_MS: String(TTL_MS), KEYGATE_CHANGE_POLL_INTERVAL_MS: "200" },
    });
    check = checker(t.app.url);
  });
  afterAll(async () => {
    await t?.close();
    await store?.close();
    await mongod?.stop();
  });

  // Each test restarts the mongod: it may take as long as a start (the rest is seconds).
  it("keeps serving cached keys, refuses the rest, and catches up when mongod returns", { timeout: MONGOD_HOOK_TIMEOUT_MS }, async () => {
    const cachedKey = await t.client.createKey({ name: "cached", scopes: ["machines:read"] });
    const uncachedKey = await t.client.createKey({ name: "uncached", scopes: ["machines:read"] });
    expect(await check(cachedKey.secret)).toBe("allowed");
    expect(await readyz(t.app.url)).toBe("200");

    await mongod.stop({ doCleanup: false });

    // Admin RPCs answer `unavailable` within the write wait, not the driver's 30 s.
    const started = performance.now();
    expect(await rpcCode(() => t.client.listKeys({}))).toBe("Unavailable");
    expect(performance.now() - started).toBeLessThan(5_000);
    // Sent as one unit (with an idempotency key), a change that reached no server says nothing
    // changed; without one its writes commit one by one, so it can only say it may have been applied.
    const asOneUnit = { headers: { "idempotency-key": "outage-rename-1" } };
    expect(await rpcReason(() => t.client.updateKey({ id: uncachedKey.key!.id, name: "renamed" }, asOneUnit))).toBe("Unavailable STORE_UNAVAILABLE");
    expect(await rpcReason(() => t.client.updateKey({ id: uncachedKey.key!.id, name: "renamed" }))).toBe("Unavailable CHANGE_MAY_HAVE_BEEN_APPLIED");
    // /readyz and gRPC health: NOT_SERVING (monitor every 2 s, 1 s ping timeout).
    await within(6_000, "503", () => readyz(t.app.url));
    await within(6_000, "NOT_SERVING", () => health(t.app.url));

    // Fail-static: the cached key works, also after its TTL, up to the staleness bound.
    expect(await check(cachedKey.secret)).toBe("allowed");
    clock.advance(TTL_MS + 1_000);
    expect(await check(cachedKey.secret)).toBe("allowed");
    expect(await check(cachedKey.secret)).toBe("allowed");
    // Fail-closed: a key not cached is never admitted (the RPC fails; Envoy denies).
    expect(await rpcCode(() => check(uncachedKey.secret))).toBe("Unavailable");
    expect(await rpcCode(() => check(generateSecret("live")))).toBe("Unavailable");
    // Past the staleness bound the cached key is refused too.
    clock.advance(STALENESS_MS);
    expect(await rpcCode(() => check(cachedKey.secret))).toBe("Unavailable");
    const unflushed = t.app.usage.recorder.unflushedEntries;
    expect(unflushed).toBeGreaterThan(0);

    await restartMongod(mongod);

    // Recovery without a restart.
    await within(15_000, "200", () => readyz(t.app.url));
    await within(6_000, "SERVING", () => health(t.app.url));
    await within(10_000, "ok", () => rpcCode(() => t.client.listKeys({})));
    expect(await check(uncachedKey.secret)).toBe("allowed");
    expect(await check(cachedKey.secret)).toBe("allowed");
    // The usage counted during the outage reaches the store: 1 before + 3 during + 1 after.
    await within(10_000, "ok", () => rpcCode(() => t.app.usage.recorder.flush()));
    const totals = await store.usage.keyTotals(t.admin.organization.id, [cachedKey.key!.id]);
    expect(totals.get(cachedKey.key!.id)?.requests).toBe(5);
  });

  it("two replicas under Check load while mongod stops and starts: no count lost, revocations reach both after", { timeout: MONGOD_HOOK_TIMEOUT_MS }, async () => {
    const storeB = createMongoStore(mongod.getUri(), "keygate_outage");
    await storeB.init();
    const b = await startTestApp({ store: storeB, closeStore: false, env: { KEYGATE_CHANGE_POLL_INTERVAL_MS: "200" } });
    try {
      const checkB = checker(b.app.url);
      const loaded = await t.client.createKey({ name: "loaded", scopes: ["machines:read"] });
      const doomed = await t.client.createKey({ name: "doomed", scopes: ["machines:read"] });
      const flushBoth = () => Promise.all([t.app.usage.recorder.flush(), b.app.usage.recorder.flush()]);
      await flushBoth();
      const before = (await store.usage.keyTotals(t.admin.organization.id, [loaded.key!.id])).get(loaded.key!.id)?.requests ?? 0;
      for (const probe of [check, checkB]) {
        expect(await probe(loaded.secret)).toBe("allowed");
        expect(await probe(doomed.secret)).toBe("allowed");
      }
      let allowed = 2; // the warm-up checks of `loaded` on A and B
      let running = true;
      let unavailable = 0;
      const load = async (probe: typeof check) => {
        while (running) {
          try {
            if ((await probe(loaded.secret)) === "allowed") allowed++;
          } catch {
            unavailable++;
          }
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      };
      const workers = [check, check, checkB, checkB].map(load);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await mongod.stop({ doCleanup: false });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await restartMongod(mongod);
      await within(15_000, "200", () => readyz(t.app.url));
      await within(15_000, "200", () => readyz(b.app.url));
      running = false;
      await Promise.all(workers);
      expect(unavailable).toBe(0); // the loaded key was cached on both: the outage never showed
      expect(allowed).toBeGreaterThan(200);

      await within(15_000, "ok", () => rpcCode(flushBoth));
      const after = (await store.usage.keyTotals(t.admin.organization.id, [loaded.key!.id])).get(loaded.key!.id)?.requests ?? 0;
      expect(after - before).toBe(allowed);

      await within(10_000, "ok", () => rpcCode(() => t.client.revokeKey({ id: doomed.key!.id })));
      await within(2_000, "API_KEY_REVOKED", () => checkB(doomed.secret));
      expect(await check(doomed.secret)).toBe("API_KEY_REVOKED");
    } finally {
      await b.close();
      await storeB.close();
    }
  });
});
