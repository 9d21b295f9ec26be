import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { describeWebhookDeliveries } from "./webhook-deliveries.suite.js";

/** Webhook deliveries (webhook-deliveries.suite.ts) on the embedded store. */
describeWebhookDeliveries("memory", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
