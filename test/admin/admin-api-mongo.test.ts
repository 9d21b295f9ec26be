import { freshMongoStore } from "../support/mongo.js";
import { describeAdminApi } from "./admin-api.suite.js";

describeAdminApi("MongoDB", freshMongoStore);
