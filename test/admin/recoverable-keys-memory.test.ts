import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeRecoverableKeys } from "./recoverable-keys.suite.js";

/** Recoverable keys (recoverable-keys.suite.ts) on the embedded store. */
describeRecoverableKeys("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
