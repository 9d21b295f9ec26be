import { randomUUID } from "node:crypto";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { LeasedLimits } from "../../src/limits/leased-limits.js";
import { newId } from "../../src/model/ids.js";
import { MongoStore } from "../../src/store/mongo/mongo-store.js";
import type { Store } from "../../src/store/store.js";
import { systemClock } from "../../src/time/clock.js";
import { admit, leasedReplicas, verdict } from "../limits/named-limits-fleet.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aKey, T0 } from "../support/records.js";
import { anEntry, replica, results } from "./access-log-replica.js";

/**
 * Two replicas over MongoDB, each with its own client, its LeasedLimits and its access-log
 * service: a response-reported cost Envoy sends to both is debited once, and once it has taken
 * the balance to zero the next Check is denied on either replica. The balance has no refill, so
 * its window runs from setAt without end and the real clock rolls nothing during the test.
 */

const now = () => systemClock.now();

describe("a response-reported cost across two replicas over MongoDB", () => {
  let shared: FreshMongoStore;
  let second: MongoStore;
  let stores: Store[];
  let limits: LeasedLimits[];

  beforeAll(async () => {
    shared = await freshMongoStore();
    second = new MongoStore(new MongoClient(inject("mongoUri")), shared.db.databaseName);
    await second.init();
    stores = [shared.store, second];
    limits = await leasedReplicas(
      2,
      stores.map((store) => ({ leases: store.budgets, replicas: store.replicas, clock: systemClock })),
    );
  });

  afterAll(async () => {
    await Promise.all(limits.map((replica) => replica.close()));
    await second.close();
    await shared.cleanup();
  });

  it("is debited once when Envoy sends the entry to both, down to zero, and the next Check on either replica is denied", async () => {
    const organizationId = newId("org");
    await shared.store.organizations.create({ id: organizationId, name: "acme", plan: "free", createdAt: T0, settings: { responseCostHeader: "x-usage-tokens" } });
    const key = aKey(organizationId, { credits: { remaining: 50, refill: null, setAt: new Date(now() - 60_000) } });
    expect(await shared.store.keys.create(key, { organizationMax: 100, userMax: 100 })).toMatchObject({ ok: true });

    // The Check before the response, on replica 0: it spends its cost, 1, and holds a slice.
    expect(verdict(await admit(limits[0]!, key, now))).toBe("admitted");

    const asked: number[] = [];
    const access = [0, 1].map((i) =>
      replica(stores[i]!, async (k, identity, units) => {
        asked.push(units);
        await limits[i]!.debitCredits(k, identity, units);
      }),
    );
    // Replica 0 debits first, from the slice it holds, then from the store's unleased rest; the
    // entry sent again, to both replicas at once, debits nothing.
    const stream = [anEntry(key, randomUUID(), { "x-usage-tokens": "30" })];
    await access[0]!.send(stream);
    await Promise.all(access.map((r) => r.send(stream)));
    expect(asked).toEqual([30]);
    expect([results(access[0]!.metrics), results(access[1]!.metrics)]).toEqual([{ debited: 1, duplicate: 1 }, { duplicate: 1 }]);

    // 50 - 1 - 30 = 19 left, none of it held by replica 0 any more: replica 1 admits all of it.
    const verdicts = [];
    for (let i = 0; i < 19; i++) verdicts.push(verdict(await admit(limits[1]!, key, now)));
    expect(verdicts.every((v) => v === "admitted")).toBe(true);

    // A second response reports more than is left: the balance goes to zero, not below.
    await access[1]!.send([anEntry(key, randomUUID(), { "x-usage-tokens": "500" })]);
    expect(asked).toEqual([30, 500]);
    for (const replicaLimits of limits) expect(verdict(await admit(replicaLimits, key, now))).toBe("CREDITS_EXHAUSTED key");
  });
});
