import { freshMongoStore } from "../support/mongo.js";
import { describeRecoverableKeys } from "./recoverable-keys.suite.js";

/** Recoverable keys (recoverable-keys.suite.ts) on MongoDB. */
describeRecoverableKeys("MongoDB", freshMongoStore);
