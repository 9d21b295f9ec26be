import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";

/**
 * deploy/'s Secrets ship public placeholder values holding REPLACE_ME, long enough to pass every
 * other check; keygate refuses to start with one (exit 2 on a ConfigError), naming the variable
 * and never repeating the value.
 */

const TOKEN = "dp-token-0123456789abcdefghijklmnopqrstuvwxyz";
const PEPPER = "pepper-0123456789abcdefghijklmnopqrstuvwxyz";
const ENCRYPTION_KEY = Buffer.alloc(32, 7).toString("base64");

describe("placeholder secrets", () => {
  it.each([
    ["KEYGATE_DATA_PLANE_TOKEN", { KEYGATE_DATA_PLANE_TOKEN: "REPLACE_ME_WITH_THE_DATA_PLANE_TOKEN_0123456789" }],
    ["KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", { KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: "REPLACE_ME_WITH_THE_PREVIOUS_TOKEN_0123456789" }],
    ["KEYGATE_PEPPER", { KEYGATE_PEPPER: "REPLACE_ME_WITH_AT_LEAST_32_RANDOM_CHARACTERS" }],
    ["KEYGATE_PEPPER", { KEYGATE_PEPPER: "0123456789abcdefghij-replace_me-0123456789" }],
    ["KEYGATE_ENCRYPTION_KEY", { KEYGATE_ENCRYPTION_KEY: "REPLACE_ME_WITH_32_RANDOM_BYTES_IN_BASE64" }],
    ["KEYGATE_ENCRYPTION_KEY_PREVIOUS", { KEYGATE_ENCRYPTION_KEY: ENCRYPTION_KEY, KEYGATE_ENCRYPTION_KEY_PREVIOUS: "REPLACE_ME_WITH_THE_OLD_KEY" }],
    ["MONGODB_URI", { MONGODB_URI: "mongodb://keygate:REPLACE_ME@mongodb.example:27017/?authSource=admin", KEYGATE_PEPPER: PEPPER }],
  ])("refuses %s holding REPLACE_ME, without repeating the value", (variable, env: Record<string, string>) => {
    let refusal: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ConfigError);
    const message = (refusal as ConfigError).message;
    expect(message).toMatch(new RegExp(`^${variable}: still holds the REPLACE_ME placeholder`));
    expect(message).not.toContain(env[variable]);
    expect(message).not.toContain(env[variable]!.slice(11, 30));
  });

  it("takes values of one's own", () => {
    const config = loadConfig({ MONGODB_URI: "mongodb://keygate:s3cret@mongodb.example:27017/", KEYGATE_PEPPER: PEPPER, KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_ENCRYPTION_KEY: ENCRYPTION_KEY });
    expect(config).toMatchObject({ pepper: PEPPER, dataPlane: { token: TOKEN } });
    expect(config.encryptionKeys?.current.equals(Buffer.alloc(32, 7))).toBe(true);
  });
});
