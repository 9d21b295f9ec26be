import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeOperators } from "./operators.suite.js";
import { describeRecoverableKeys } from "./recoverable-keys.suite.js";
import { describeUsers } from "./users.suite.js";

/** Issue 8 (users, platform operators, recoverable keys) on the embedded store. */
const memory = async () => ({ store: new MemoryStore(), cleanup: async () => {} });

describeUsers("memory", memory);
describeOperators("memory", memory);
describeRecoverableKeys("memory", memory);
