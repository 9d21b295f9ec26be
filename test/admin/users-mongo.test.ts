import { freshMongoStore } from "../support/mongo.js";
import { describeUsers } from "./users.suite.js";

/** Users of an organization (users.suite.ts) on MongoDB. */
describeUsers("MongoDB", freshMongoStore);
