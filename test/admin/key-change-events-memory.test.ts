import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeKeyChangeEvents } from "./key-change-events.suite.js";

/**
 * The admin API's changes and their webhook events (key-change-events.suite.ts) on the embedded
 * store. Its units run one at a time but undo nothing when one fails (store/memory/one-at-a-time.ts:
 * its writes cannot fail halfway), so an outbox made to fail there would leave the change made:
 * that a change and its event commit together or not at all is proved on MongoDB.
 */
describeKeyChangeEvents("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }), { undoesFailedUnits: false });
