import { MongoClient } from "mongodb";
import { afterAll, beforeAll, inject } from "vitest";
import type { LeasedLimits } from "../../src/limits/leased-limits.js";
import { MongoStore } from "../../src/store/mongo/mongo-store.js";
import { systemClock } from "../../src/time/clock.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { leasedReplicas } from "./named-limits-fleet.js";

/**
 * Two LeasedLimits replicas over MongoDB, each with a client of its own, on one fresh database,
 * made before the suite's tests and closed after them. Windows follow the primary's clock.
 */
export function twoReplicasOnMongo(): () => LeasedLimits[] {
  let shared: FreshMongoStore;
  let second: MongoStore;
  let replicas: LeasedLimits[] = [];

  beforeAll(async () => {
    shared = await freshMongoStore();
    second = new MongoStore(new MongoClient(inject("mongoUri")), shared.db.databaseName);
    await second.init();
    replicas = await leasedReplicas(
      2,
      [shared.store, second].map((store) => ({ leases: store.budgets, replicas: store.replicas, clock: systemClock })),
    );
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await second.close();
    await shared.cleanup();
  });

  return () => replicas;
}
