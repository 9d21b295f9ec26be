import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeOperators } from "./operators.suite.js";

/** Platform operators (operators.suite.ts) on the embedded store. */
describeOperators("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
