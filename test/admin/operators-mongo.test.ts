import { freshMongoStore } from "../support/mongo.js";
import { describeOperators } from "./operators.suite.js";

/** Platform operators (operators.suite.ts) on MongoDB. */
describeOperators("MongoDB", freshMongoStore);
