import { freshMongoStore } from "../../support/mongo.js";
import { describeNoEscalation } from "./no-escalation.suite.js";

describeNoEscalation("MongoDB", freshMongoStore, { numRuns: 20, maxCommands: 10, endOnFailure: true, timeoutMs: 120_000 });
