import type { MongoMemoryReplSet } from "mongodb-memory-server-core";
import type { TestProject } from "vitest/node";
import { HOW_TO_FIX, startReplicaSet, useOfflineMongodIfNeeded } from "./mongod-launch.js";

/**
 * One real mongod for the whole test run (each test file then uses its own database, see
 * mongo.ts), as a single-member replica set: the shape keygate runs on in production, with
 * transactions and change streams (test/store/mongo-standalone-store.test.ts covers a standalone).
 * mongodb-memory-server-core starts it: the binary named by MONGOMS_SYSTEM_BINARY, or one it
 * downloads; on machines that cannot download MongoDB, ../shared/mongod/install provides one
 * (mongod-launch.ts), so that plain `npm test` works.
 */

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await useOfflineMongodIfNeeded();
  let server: MongoMemoryReplSet;
  try {
    server = await startReplicaSet();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const binary = process.env.MONGOMS_SYSTEM_BINARY ?? "(none; a download was attempted)";
    throw new Error(
      `No mongod for the MongoDB store tests: starting one failed (MONGOMS_SYSTEM_BINARY=${binary}): ${reason}. ${HOW_TO_FIX}`,
      { cause: error },
    );
  }
  project.provide("mongoUri", server.getUri());
  return async () => {
    await server.stop();
  };
}
