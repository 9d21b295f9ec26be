import { freshMongoStore } from "../support/mongo.js";
import { describeIdempotentChanges } from "./idempotent-changes.suite.js";

/** Idempotent change RPCs (idempotent-changes.suite.ts) on MongoDB. */
describeIdempotentChanges("MongoDB", freshMongoStore);
