import { Environment, type ApiKey } from "../../gen/keygate/v1/key_admin_pb.js";
import { PERIOD_NAME } from "./output.js";

/** How `keygate keys` prints a key's environment and rate limit, in its table and on its own. */

export const ENVIRONMENT_NAME: Record<Environment, string> = { [Environment.UNSPECIFIED]: "-", [Environment.LIVE]: "live", [Environment.TEST]: "test" };

export const rate = (key: ApiKey) => (key.rateLimit > 0 ? `${key.rateLimit}/${PERIOD_NAME[key.rateLimitPeriod]}` : "plan");
