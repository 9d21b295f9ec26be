import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeakedKeyAction, UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import { cliAgainst } from "./in-process-cli.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * keygate settings, run in process against a real server: reading the organization's settings
 * (defaults filled in) for people and scripts, changing only what is given, the server's
 * refusals as exit codes (an admin on a key lifecycle setting, a value out of bounds), and usage
 * errors that name the argument at fault without calling the server.
 */

let t: TestApp;
const { cli, json } = cliAgainst(() => t);
let adminSecret: string;

beforeAll(async () => {
  t = await startTestApp();
  // t.admin's key is the owner's; an admin user acts through a key of their own.
  const { user } = await t.client.addUser({ name: "an admin", role: UserRole.ADMIN });
  adminSecret = (await t.client.createKey({ name: "an admin key", scopes: ["admin:read", "admin:write"], ownerUserId: user!.id })).secret;
});
afterAll(async () => {
  await t?.close();
});



interface SettingsJson {
  settings: {
    expiryWarningDays?: number;
    maxKeyLifetimeDays?: number;
    disableUnusedKeysAfterDays?: number;
    quotaThresholds?: number[];
    leakedKeyAction?: string;
    creditsLowThresholdPercent?: number;
  };
}


const stored = async () => (await t.client.getOrganizationSettings({})).settings!;

describe("keygate settings", () => {
  it("prints the settings, defaults filled in, with or without get, for people and scripts", async () => {
    for (const args of [["settings"], ["settings", "get"]]) {
      const run = await cli(args);
      expect(run.code, run.err).toBe(0);
      expect(run.out).toMatch(/^expiry warning:\s+7 days before a key expires/m);
      expect(run.out).toMatch(/^max key lifetime:\s+no maximum$/m);
      expect(run.out).toMatch(/^disable unused keys:\s+never$/m);
      expect(run.out).toMatch(/^quota thresholds:\s+80%, 100%$/m);
      expect(run.out).toMatch(/^leaked key action:\s+disable \(the key stops until enabled again\)$/m);
      expect(run.out).toMatch(/^credits low:\s+at 10% of a balance left \(key.credits_low\)$/m);
    }
    // --json alone implies get; proto3 JSON leaves zeros out.
    const defaults = { expiryWarningDays: 7, quotaThresholds: [80, 100], leakedKeyAction: "LEAKED_KEY_ACTION_DISABLE", creditsLowThresholdPercent: 10 };
    expect(await json(["settings"])).toEqual({ settings: defaults });
    expect(await json(["settings", "get"])).toEqual({ settings: defaults });
  });

  it("changes only what is given; an admin changes the notification settings but not the key lifecycle ones", async () => {
    const changed = await json<SettingsJson>(["settings", "set", "--max-key-lifetime-days", "90", "--quota-thresholds", "50, 90,100"]);
    expect(changed.settings).toEqual({
      expiryWarningDays: 7,
      maxKeyLifetimeDays: 90,
      quotaThresholds: [50, 90, 100],
      leakedKeyAction: "LEAKED_KEY_ACTION_DISABLE",
      creditsLowThresholdPercent: 10,
    });
    expect(await stored()).toMatchObject({ expiryWarningDays: 7, maxKeyLifetimeDays: 90, disableUnusedKeysAfterDays: 0, quotaThresholds: [50, 90, 100] });

    const human = await cli(["settings", "set", "--disable-unused-keys-after-days", "60"]);
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/^disable unused keys:\s+after 60 days unused$/m);
    expect(human.out).toMatch(/^max key lifetime:\s+90 days$/m);

    const asAdmin = { env: { KEYGATE_ADMIN_KEY: adminSecret } };
    expect((await json<SettingsJson>(["settings", "set", "--expiry-warning-days", "14", "--quota-thresholds", "none"], asAdmin)).settings).toEqual({
      expiryWarningDays: 14,
      maxKeyLifetimeDays: 90,
      disableUnusedKeysAfterDays: 60,
      leakedKeyAction: "LEAKED_KEY_ACTION_DISABLE",
      creditsLowThresholdPercent: 10,
    });
    const refused = await cli(["settings", "set", "--max-key-lifetime-days", "30", "--expiry-warning-days", "3"], asAdmin);
    expect(refused.code).toBe(4);
    expect(refused.err).toContain("keygate settings set: max_key_lifetime_days: reaches every key, owners' included, so only an owner changes it");
    expect(refused.err).toContain("(PERMISSION_DENIED)");
    // Refused as a whole: the expiry warning sent with it did not change either.
    expect(await stored()).toMatchObject({ expiryWarningDays: 14, maxKeyLifetimeDays: 90, disableUnusedKeysAfterDays: 60, quotaThresholds: [] });
  });

  it("sets the credits-low threshold, 0 for never; an admin may, as it is a notification setting", async () => {
    const asAdmin = { env: { KEYGATE_ADMIN_KEY: adminSecret } };
    const changed = await json<SettingsJson>(["settings", "set", "--credits-low-threshold-percent", "25"], asAdmin);
    expect(changed.settings.creditsLowThresholdPercent).toBe(25);
    expect((await stored()).creditsLowThresholdPercent).toBe(25);
    const off = await cli(["settings", "set", "--credits-low-threshold-percent", "0"]);
    expect(off.code, off.err).toBe(0);
    expect(off.out).toMatch(/^credits low:\s+never$/m);
    expect((await stored()).creditsLowThresholdPercent).toBe(0);
    await cli(["settings", "set", "--credits-low-threshold-percent", "10"]);
  });

  it("sets what a leaked key gets by its word; only an owner may, as it reaches owners' keys", async () => {
    for (const [word, action, enumName, says] of [
      ["revoke", LeakedKeyAction.REVOKE, "LEAKED_KEY_ACTION_REVOKE", "revoke (the key stops for good)"],
      ["NOTIFY", LeakedKeyAction.NOTIFY, "LEAKED_KEY_ACTION_NOTIFY", "notify (key.leaked and an audit entry only)"],
      [" disable ", LeakedKeyAction.DISABLE, "LEAKED_KEY_ACTION_DISABLE", "disable (the key stops until enabled again)"],
    ] as const) {
      const changed = await json<SettingsJson>(["settings", "set", "--leaked-key-action", word]);
      expect(changed.settings.leakedKeyAction, word).toBe(enumName);
      expect((await stored()).leakedKeyAction, word).toBe(action);
      const human = await cli(["settings", "set", "--leaked-key-action", word]);
      expect(human.out, word).toMatch(new RegExp(`^leaked key action:\\s+${says.replace(/[()]/g, "\\$&")}$`, "m"));
    }
    const refused = await cli(["settings", "set", "--leaked-key-action", "revoke"], { env: { KEYGATE_ADMIN_KEY: adminSecret } });
    expect(refused.code).toBe(4);
    expect(refused.err).toContain("leaked_key_action");
    expect(refused.err).toContain("(PERMISSION_DENIED)");
    expect((await stored()).leakedKeyAction).toBe(LeakedKeyAction.DISABLE);
  });

  it("reports a value the server refuses with the field it names (exit 2)", async () => {
    for (const [args, says] of [
      [["--expiry-warning-days", "0"], "expiry_warning_days: must be between 1 and 365"],
      [["--max-key-lifetime-days", "4000"], "max_key_lifetime_days: must be between 0 and 3650"],
      [["--quota-thresholds", "90,80"], "quota_thresholds[1]: must be above the one before it"],
      [["--credits-low-threshold-percent", "101"], "credits_low_threshold_percent: must be between 0 and 100"],
    ] as const) {
      const run = await cli(["settings", "set", ...args]);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.err, args.join(" ")).toContain(says);
    }
  });

  it("names the argument at fault in usage errors, without calling the server (exit 2)", async () => {
    // Nothing listens here: a command that called the server would exit 1.
    const offline = { env: { KEYGATE_URL: "http://127.0.0.1:9" } };
    for (const [args, says] of [
      [["settings", "nope"], 'unknown command "nope"'],
      [["settings", "set"], "nothing to change: give at least one option"],
      [["settings", "set", "--expiry-warning-days", "two"], '--expiry-warning-days must be a whole number of days; got "two"'],
      [["settings", "set", "--max-key-lifetime-days", "-1"], "--max-key-lifetime-days"],
      [["settings", "set", "--disable-unused-keys-after-days", "1.5"], '--disable-unused-keys-after-days must be a whole number of days; got "1.5"'],
      [["settings", "set", "--credits-low-threshold-percent", "10%"], '--credits-low-threshold-percent must be a whole number of percent; got "10%"'],
      [["settings", "set", "--quota-thresholds", "80%,100%"], '--quota-thresholds must be percentages separated by commas, like 80,100 (or none); got "80%,100%"'],
      // An unset shell variable must not turn the quota alerts off: only the word none does.
      [["settings", "set", "--quota-thresholds", ""], '--quota-thresholds must be percentages separated by commas, like 80,100 (or none); got ""'],
      [["settings", "set", "--quota-thresholds", " "], "--quota-thresholds must be percentages"],
      [["settings", "set", "--leaked-key-action", "delete"], '--leaked-key-action must be notify, disable or revoke; got "delete"'],
      [["settings", "set", "--leaked-key-action", ""], '--leaked-key-action must be notify, disable or revoke; got ""'],
      [["settings", "set", "--colour", "red"], "--colour"],
      [["settings", "get", "extra"], 'unexpected argument "extra"'],
    ] as const) {
      const run = await cli([...args], offline);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.err, args.join(" ")).toContain(says);
    }
  });

  it("answers --help at every level, and the top-level help lists settings", async () => {
    const top = await cli(["--help"]);
    expect(top.out).toMatch(/^ {2}settings\s+organization settings/m);
    const group = await cli(["settings", "--help"]);
    expect(group.code).toBe(0);
    expect(group.out).toMatch(/^Usage: keygate settings <command>/);
    for (const sub of ["get", "set"]) {
      const run = await cli(["settings", sub, "--help"]);
      expect(run.code, sub).toBe(0);
      expect(run.out, sub).toMatch(/^Usage: keygate settings/);
      expect(run.out, sub).toContain("quota thresholds");
      expect(run.out, sub).toContain("leaked key action");
      expect(run.out, sub).toContain("Exit codes");
    }
  });
});
