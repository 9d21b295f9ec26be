import { freshMongoStore } from "../support/mongo.js";
import { describeKeyChangeEvents } from "./key-change-events.suite.js";

/** The admin API's changes and their webhook events (key-change-events.suite.ts) on MongoDB, in its transactions. */
describeKeyChangeEvents("MongoDB", freshMongoStore, { undoesFailedUnits: true });
