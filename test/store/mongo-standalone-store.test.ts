import type { MongoMemoryServer } from "mongodb-memory-server-core";
import { afterAll, describe, expect, it } from "vitest";
import { startMongod } from "../support/mongod-launch.js";
import { freshMongoStore } from "../support/mongo.js";
import { withCounterWriter } from "../support/stored-counters.js";
import { describeStoreContract } from "./contract.js";

/**
 * keygate also runs on a standalone mongod, which has neither transactions nor change streams:
 * a unit of work's writes are made one by one there (with compensation where a write fails), and
 * replicas follow the change log by polling. The same contract holds; this file proves it on a
 * standalone of its own (the run's shared mongod is a replica set, see global-setup.ts).
 */
let server: Promise<MongoMemoryServer> | undefined;
const standaloneUri = async () => (await (server ??= startMongod())).getUri();

afterAll(async () => {
  await (await server)?.stop();
});

describeStoreContract("mongodb (standalone)", async () => ({
  ...withCounterWriter(await freshMongoStore(await standaloneUri())),
  unitsWithoutRollback: true,
}));

describe("on a standalone mongod", () => {
  it("the change log has no stream to offer: watch() is null, and the feed polls as before", async () => {
    const fresh = await freshMongoStore(await standaloneUri());
    try {
      expect(await fresh.store.changes.watch()).toBeNull();
    } finally {
      await fresh.cleanup();
    }
  });
});
