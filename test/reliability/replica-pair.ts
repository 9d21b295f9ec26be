import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient, type Db } from "mongodb";
import { inject } from "vitest";
import { DEFAULT_PLANS, type Plan } from "../../src/model/plans.js";
import { MongoStore } from "../../src/store/mongo/mongo-store.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { freshMongoStore } from "../support/mongo.js";

export interface ReplicaPair {
  a: TestApp;
  b: TestApp;
  /** The database both use, for tests that look at the documents themselves. */
  db: Db;
  /** Closes both apps, their clients, and drops the database. */
  close(): Promise<void>;
}

export interface ReplicaPairOptions {
  /** Settings of both replicas. */
  env?: Record<string, string>;
  /** The plans both replicas run with (written to KEYGATE_PLANS_FILE); default the built-in ones. */
  plans?: (defaults: readonly Plan[]) => Plan[];
  /** The first organization's plan. */
  plan?: string;
}

/**
 * Two keygate replicas on one fresh database of the run's mongod, each with a MongoDB client of
 * its own, as two processes would have: they share nothing but the database.
 */
export async function startReplicaPair(options: ReplicaPairOptions = {}): Promise<ReplicaPair> {
  const env = { ...options.env };
  if (options.plans !== undefined) {
    const plansFile = join(mkdtempSync(join(tmpdir(), "keygate-plans-")), "plans.json");
    writeFileSync(plansFile, JSON.stringify(options.plans(DEFAULT_PLANS)));
    env["KEYGATE_PLANS_FILE"] = plansFile;
  }
  const shared = await freshMongoStore();
  const storeB = new MongoStore(new MongoClient(inject("mongoUri")), shared.db.databaseName);
  await storeB.init();
  const plan = options.plan !== undefined ? { plan: options.plan } : {};
  const a = await startTestApp({ store: shared.store, closeStore: false, env, ...plan });
  const b = await startTestApp({ store: storeB, closeStore: false, env, ...plan });
  return {
    a,
    b,
    db: shared.db,
    async close() {
      await a.close();
      await b.close();
      await storeB.close();
      await shared.cleanup();
    },
  };
}
