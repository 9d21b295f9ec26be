import { freshMongoStore } from "../support/mongo.js";
import { describeWebhookEndpoints } from "./webhook-endpoints.suite.js";

/** Webhook endpoints (webhook-endpoints.suite.ts) on MongoDB. */
describeWebhookEndpoints("MongoDB", freshMongoStore);
