import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeUsers } from "./users.suite.js";

/** Users of an organization (users.suite.ts) on the embedded store. */
describeUsers("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
