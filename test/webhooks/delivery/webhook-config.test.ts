import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config/config.js";

describe("KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS", () => {
  it("is off unless set", () => {
    expect(loadConfig({}).webhookAllowInsecureTargets).toBe(false);
    expect(loadConfig({ KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: "" }).webhookAllowInsecureTargets).toBe(false);
  });

  it.each([
    ["true", true],
    ["1", true],
    ["false", false],
    ["0", false],
  ])("reads %s as %s", (raw, value) => {
    expect(loadConfig({ KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: raw }).webhookAllowInsecureTargets).toBe(value);
  });

  it("refuses anything else, naming the variable", () => {
    expect(() => loadConfig({ KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: "sometimes" })).toThrow(ConfigError);
    expect(() => loadConfig({ KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: "sometimes" })).toThrow(/KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS/);
  });
});
