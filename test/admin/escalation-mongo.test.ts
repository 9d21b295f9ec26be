import { freshMongoStore } from "../support/mongo.js";
import { describeEscalation } from "./escalation.suite.js";

/** Issue 12's escalation reproductions on MongoDB. */
describeEscalation("MongoDB", freshMongoStore);
