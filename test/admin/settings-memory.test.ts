import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeSettings } from "./settings.suite.js";

/** Organization settings (settings.suite.ts) on the embedded store. */
describeSettings("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
