import { freshMongoStore } from "../support/mongo.js";
import { describeWebhookDeliveries } from "./webhook-deliveries.suite.js";

/** Webhook deliveries (webhook-deliveries.suite.ts) on MongoDB. */
describeWebhookDeliveries("MongoDB", freshMongoStore);
