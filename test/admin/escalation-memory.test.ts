import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeEscalation } from "./escalation.suite.js";

/** Issue 12's escalation reproductions on the embedded store. */
describeEscalation("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
