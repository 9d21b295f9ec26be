import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient, type Db } from "mongodb";
import { inject } from "vitest";
import { DEFAULT_PLANS, type Plan } from "../../src/model/plans.js";
import { MongoStore } from "../../src/store/mongo/mongo-store.js";
import type { Clock } from "../../src/time/clock.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { freshMongoStore } from "../support/mongo.js";

export interface ReplicaFleet {
  /** The replicas, in start order; each bootstrapped an organization of its own ("acme"). */
  replicas: TestApp[];
  /** The database all of them use, for tests that look at the documents themselves. */
  db: Db;
  /** Closes every app and its client, and drops the database. */
  close(): Promise<void>;
}

export interface ReplicaFleetOptions {
  /** How many replicas (default 2). */
  size?: number;
  /** Settings of every replica. */
  env?: Record<string, string>;
  /** The plans every replica runs with (written to KEYGATE_PLANS_FILE); default the built-in ones. */
  plans?: (defaults: readonly Plan[]) => Plan[];
  /** The plan of each replica's bootstrapped organization. */
  plan?: string;
  /** Every replica's clock; default a ManualClock each (startTestApp's), which stands still. */
  clock?: Clock;
}

/**
 * Keygate replicas on one fresh database of the run's mongod, each with a MongoDB client of its
 * own, as separate processes would have: they share nothing but the database.
 */
export async function startReplicaFleet(options: ReplicaFleetOptions = {}): Promise<ReplicaFleet> {
  const env = { ...options.env };
  if (options.plans !== undefined) {
    const plansFile = join(mkdtempSync(join(tmpdir(), "keygate-plans-")), "plans.json");
    writeFileSync(plansFile, JSON.stringify(options.plans(DEFAULT_PLANS)));
    env["KEYGATE_PLANS_FILE"] = plansFile;
  }
  const shared = await freshMongoStore();
  const ownStores: MongoStore[] = [];
  const replicas: TestApp[] = [];
  const close = async () => {
    for (const replica of replicas) await replica.close();
    for (const store of ownStores) await store.close();
    await shared.cleanup();
  };
  try {
    const plan = options.plan !== undefined ? { plan: options.plan } : {};
    const clock = options.clock !== undefined ? { clock: options.clock } : {};
    for (let i = 0; i < (options.size ?? 2); i++) {
      let store = shared.store;
      if (i > 0) {
        store = new MongoStore(new MongoClient(inject("mongoUri")), shared.db.databaseName);
        ownStores.push(store);
        await store.init();
      }
      replicas.push(await startTestApp({ store, closeStore: false, env, ...plan, ...clock }));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { replicas, db: shared.db, close };
}
