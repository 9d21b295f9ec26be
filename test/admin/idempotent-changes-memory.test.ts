import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeIdempotentChanges } from "./idempotent-changes.suite.js";

/** Idempotent change RPCs (idempotent-changes.suite.ts) on the embedded store. */
describeIdempotentChanges("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
