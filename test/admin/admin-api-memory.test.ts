import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeAdminApi } from "./admin-api.suite.js";

describeAdminApi("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
