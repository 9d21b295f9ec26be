import { freshMongoStore } from "../../support/mongo.js";
import { describeNoEscalation } from "./no-escalation.suite.js";

describeNoEscalation("MongoDB", freshMongoStore, { numRuns: 25, maxCommands: 12, endOnFailure: true, timeoutMs: 120_000 });
