import { randomBytes } from "node:crypto";
import { MongoClient, type Db, type MongoClientOptions } from "mongodb";
import { inject } from "vitest";
import { MongoStore } from "../../src/store/mongo/mongo-store.js";

export interface FreshMongoStore {
  store: MongoStore;
  /** The same database, for tests that look at the documents themselves. */
  db: Db;
  /** Drops the database and closes the client: call it once the file is done. */
  cleanup(): Promise<void>;
}

/**
 * A MongoStore, init()ed, on a new database of the run's mongod (see global-setup.ts), or of the
 * one at `uri`; its client made with `options` (e.g. `monitorCommands`, to see what it sends).
 */
export async function freshMongoStore(uri: string = inject("mongoUri"), options: MongoClientOptions = {}): Promise<FreshMongoStore> {
  const dbName = `keygate_test_${randomBytes(6).toString("hex")}`;
  const client = new MongoClient(uri, options);
  const store = new MongoStore(client, dbName);
  await store.init();
  const db = client.db(dbName);
  return {
    store,
    db,
    async cleanup() {
      try {
        await db.dropDatabase();
      } finally {
        await store.close();
      }
    },
  };
}
