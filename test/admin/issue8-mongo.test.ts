import { freshMongoStore } from "../support/mongo.js";
import { describeOperators } from "./operators.suite.js";
import { describeRecoverableKeys } from "./recoverable-keys.suite.js";
import { describeUsers } from "./users.suite.js";

/** Issue 8 (users, platform operators, recoverable keys) on MongoDB. */
describeUsers("MongoDB", freshMongoStore);
describeOperators("MongoDB", freshMongoStore);
describeRecoverableKeys("MongoDB", freshMongoStore);
