import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeWebhookEndpoints } from "./webhook-endpoints.suite.js";

/** Webhook endpoints (webhook-endpoints.suite.ts) on the embedded store. */
describeWebhookEndpoints("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
