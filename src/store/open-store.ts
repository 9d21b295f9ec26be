import type { Config } from "../config/config.js";
import { MemoryStore } from "./memory/memory-store.js";
import type { Store } from "./store.js";

/**
 * MongoDB when MONGODB_URI is set, else the embedded in-memory store; initialised and ready. The
 * MongoDB store (and the driver) is loaded only when asked for: the driver alone holds about
 * 23 MB of a process's memory, a twelfth of an embedded keygate's with 100,000 keys in use.
 */
export async function openStore(
  config: Pick<Config, "mongodbUri" | "mongodbDb" | "storeWriteWaitMs" | "storeReadTimeoutMs">,
): Promise<Store> {
  const store =
    config.mongodbUri === undefined
      ? new MemoryStore()
      : (await import("./mongo/mongo-store.js")).createMongoStore(config.mongodbUri, config.mongodbDb, {
          writeWaitMs: config.storeWriteWaitMs,
          readTimeoutMs: config.storeReadTimeoutMs,
        });
  try {
    await store.init();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
