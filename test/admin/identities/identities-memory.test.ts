import { MemoryStore } from "../../../src/store/memory/memory-store.js";
import { describeIdentities } from "./identities.suite.js";

/** Identities (identities.suite.ts) on the embedded store. */
describeIdentities("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
