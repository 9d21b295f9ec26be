import { freshMongoStore } from "../../support/mongo.js";
import { describeIdentities } from "./identities.suite.js";

/** Identities (identities.suite.ts) on MongoDB. */
describeIdentities("MongoDB", freshMongoStore);
