import { startReplicaSet, useOfflineMongodIfNeeded } from "../../test/support/mongod-launch.js";

/**
 * The MongoDB case's server: a single-member replica set, started as the tests start theirs
 * (test/support/mongod-launch.ts: the offline mongod where one is installed, one bounded start),
 * or why there is none (the case is then skipped, with that reason).
 */
export async function startMongo(): Promise<{ uri: string; stop(): Promise<void> } | string> {
  try {
    await useOfflineMongodIfNeeded();
    const set = await startReplicaSet();
    return {
      uri: set.getUri(),
      stop: async () => {
        await set.stop();
      },
    };
  } catch (error) {
    return `mongod did not start: ${(error as Error).message.split("\n")[0]}`;
  }
}
