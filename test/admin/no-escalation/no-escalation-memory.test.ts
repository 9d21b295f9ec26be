import { MemoryStore } from "../../../src/store/memory/memory-store.js";
import { describeNoEscalation } from "./no-escalation.suite.js";

describeNoEscalation("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }), {
  numRuns: 60,
  maxCommands: 14,
  endOnFailure: false,
  timeoutMs: 120_000,
});
