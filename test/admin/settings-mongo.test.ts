import { freshMongoStore } from "../support/mongo.js";
import { describeSettings } from "./settings.suite.js";

/** Organization settings (settings.suite.ts) on MongoDB. */
describeSettings("MongoDB", freshMongoStore);
