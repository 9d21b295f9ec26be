import type { Config } from "../config/config.js";
import { MemoryStore } from "./memory/memory-store.js";
import { createMongoStore } from "./mongo/mongo-store.js";
import type { Store } from "./store.js";

/** MongoDB when MONGODB_URI is set, else the embedded in-memory store; initialised and ready. */
export async function openStore(
  config: Pick<Config, "mongodbUri" | "mongodbDb" | "storeWriteWaitMs" | "storeReadTimeoutMs">,
): Promise<Store> {
  const store =
    config.mongodbUri === undefined
      ? new MemoryStore()
      : createMongoStore(config.mongodbUri, config.mongodbDb, { writeWaitMs: config.storeWriteWaitMs, readTimeoutMs: config.storeReadTimeoutMs });
  try {
    await store.init();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
