import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliAgainst } from "./in-process-cli.js";
import { envoyCheck } from "../metrics/envoy-check.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { meteredKeyCheckedOnce } from "../support/metered-key.js";

/**
 * keygate keys | usage | audit, run in process against a real server: tables for people, the
 * API's JSON for scripts, and exit codes a script can branch on.
 */

let t: TestApp;
const { cli, json } = cliAgainst(() => t);
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const EXPIRES = `${new Date().getUTCFullYear() + 2}-01-31`;




interface KeyJson {
  id: string;
  name: string;
  scopes?: string[];
  allowIps?: string[];
  rateLimit?: number;
  rateLimitPeriod?: string;
  isActive?: boolean;
  revokedAt?: string;
  expiresAt?: string;
  description?: string;
}

describe("keygate keys", () => {
  it("runs the whole lifecycle, for scripts (--json) and for people (tables)", async () => {
    const created = await json<{ key: KeyJson; secret: string }>([
      "keys", "create", "--name", "ci deploy", "--scope", "machines:read", "--scope", "tags:read",
      "--allow-ip", "203.0.113.0/24", "--rate-limit", "100/minute", "--expires", EXPIRES, "--environment", "test",
    ]);
    expect(created.secret).toMatch(/^sk_test_/);
    expect(created.key).toMatchObject({
      name: "ci deploy",
      scopes: ["machines:read", "tags:read"],
      allowIps: ["203.0.113.0/24"],
      rateLimit: 100,
      rateLimitPeriod: "RATE_LIMIT_PERIOD_MINUTE",
      expiresAt: `${EXPIRES}T00:00:00Z`,
    });
    const id = created.key.id;

    const human = await cli(["keys", "create", "--name", "for a person"]);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/shown this once[\s\S]*\n  sk_live_[0-9A-Za-z]{40,}\n/);
    expect(human.out.match(/sk_live_[0-9A-Za-z]{40,}/g)).toHaveLength(1);

    const table = await cli(["keys", "list"]);
    expect(table.code).toBe(0);
    expect(table.out.split("\n")[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+ENV\s+STATE/);
    expect(table.out).toContain("ci deploy");
    expect(table.out).not.toContain(created.secret);

    const paged = await json<{ keys: KeyJson[]; nextPageToken?: string }>(["keys", "list", "--page-size", "1"]);
    expect(paged.keys).toHaveLength(1);
    expect(paged.nextPageToken).toBeTruthy();
    const all = await json<{ keys: KeyJson[] }>(["keys", "list", "--page-size", "1", "--all"]);
    expect(all.keys.map((k) => k.id)).toContain(id);
    expect(all.keys.length).toBeGreaterThanOrEqual(3);

    const updated = await json<{ key: KeyJson }>([
      "keys", "update", id, "--description", "deploys from CI", "--any-ip", "--rate-limit", "0", "--no-expiry", "--disable",
    ]);
    expect(updated.key).toMatchObject({ description: "deploys from CI" });
    expect(updated.key.allowIps ?? []).toEqual([]);
    // --rate-limit 0 is never unlimited: the key gets its owner's bound (the pro plan's).
    expect(updated.key).toMatchObject({ rateLimit: 6000, rateLimitPeriod: "RATE_LIMIT_PERIOD_MINUTE" });
    expect(updated.key.expiresAt).toBeUndefined();
    expect(updated.key.isActive ?? false).toBe(false);
    expect((await json<{ keys: KeyJson[] }>(["keys", "list", "--disabled"])).keys.map((k) => k.id)).toEqual([id]);
    await json(["keys", "update", id, "--enable"]);

    const shown = await cli(["keys", "get", id]);
    expect(shown.out).toMatch(/^id:\s+key_/m);
    expect(shown.out).toMatch(/^state:\s+active$/m);

    // The secret is checked through stdin (out of ps and history), then used through Envoy's Check.
    const valid = await cli(["keys", "test"], { stdin: `${created.secret}\n` });
    expect(valid.code).toBe(0);
    expect(valid.out).toMatch(/^valid:\s+yes$/m);
    const rotated = await json<{ key: KeyJson; secret: string }>(["keys", "rotate", id, "--grace", "1h"]);
    expect(rotated.secret).not.toBe(created.secret);
    expect((await envoyCheck(t.app.url).check(created.secret)).status?.code ?? 0).toBe(0);

    const revoked = await json<{ key: KeyJson }>(["keys", "revoke", id, "--reason", "rotated out"]);
    expect(revoked.key.revokedAt).toBeDefined();
    const invalid = await cli(["keys", "test", rotated.secret]);
    expect(invalid.code).toBe(5);
    expect(invalid.out).toMatch(/^reason:\s+API_KEY_REVOKED$/m);

    expect((await cli(["keys", "delete", id])).code).toBe(2);
    expect((await cli(["keys", "delete", id, "--yes"])).code).toBe(0);
    const gone = await cli(["keys", "get", id]);
    expect(gone.code).toBe(3);
    expect(gone.err).toContain("API_KEY_NOT_FOUND");
  });

  it("shows a key that is both disabled and expired as disabled, as Check and TestKey answer", async () => {
    const DAY_MS = 86_400_000;
    const { key, secret } = await t.client.createKey({ name: "lapsed", isActive: false, expiresAt: timestampFromMs(t.clock.now() + DAY_MS) });
    // Its expiry passes. The API refuses an expiry in the past, so it is written to the store.
    const lapsed = new Date(t.clock.now() - DAY_MS);
    const written = await t.store.keys.update(key!.organizationId, key!.id, { expiresAt: lapsed, updatedAt: lapsed }, { organizationMax: 1_000, userMax: 1_000 });
    expect(written.ok).toBe(true);

    const tested = await cli(["keys", "test"], { stdin: `${secret}\n` });
    expect(tested.out).toMatch(/^reason:\s+API_KEY_DISABLED$/m);
    expect((await cli(["keys", "get", key!.id])).out).toMatch(/^state:\s+disabled$/m);
    const row = (await cli(["keys", "list", "--all"])).out.split("\n").find((line) => line.startsWith(key!.id));
    expect(row).toMatch(/\sdisabled\s/);
  });

  it("tests a key with named limits, an identity and credits: what a Check left of each, spending nothing", async () => {
    const secret = await meteredKeyCheckedOnce(t, "cli-test");
    for (let i = 0; i < 2; i++) {
      const tested = await cli(["keys", "test", secret]);
      expect(tested.code).toBe(0);
      expect(tested.out).toMatch(/^rate limit:\s+6 of 7 left until \S+$/m);
      expect(tested.out).toMatch(/^limit daily:\s+4 of 5 per day left until \S+$/m);
      expect(tested.out).toMatch(/^identity limit team:\s+5 of 6 per hour left until \S+$/m);
      expect(tested.out).toMatch(/^credits:\s+3 of 4 left, refilled \d{4}-\d\d-\d\dT00:00:00Z$/m);
      expect(tested.out).toMatch(/^identity credits:\s+9 of 10 left \(no refill\)$/m);
      expect(tested.out).not.toMatch(/limit default/);
    }
  });

  it("exits 2 for wrong usage and for values the server refuses, 4 for a bad admin key, 1 when the server cannot be reached", async () => {
    for (const args of [
      ["keys"],
      ["keys", "nope"],
      ["keys", "create"],
      ["keys", "create", "--name", "x", "--rate-limit", "lots"],
      ["keys", "create", "--name", "x", "--expires", "tomorrow"],
      ["keys", "get"],
      ["keys", "get", "a", "b"],
      ["keys", "update", "key_x"],
      ["keys", "update", "key_x", "--enable", "--disable"],
      ["keys", "list", "--bogus"],
      ["keys", "rotate", "key_x", "--grace", "soon"],
      ["usage", "key", "key_x", "--period", "year"],
      ["usage", "billing", "--month", "2026-13"],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.err, args.join(" ")).toMatch(/keygate/);
    }
    const refused = await cli(["keys", "create", "--name", "x", "--allow-ip", "not-an-ip"]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain("API_KEY_ALLOW_IP_INVALID");
    const noKey = await cli(["keys", "list"], { env: { KEYGATE_API_KEY: undefined, KEYGATE_ADMIN_KEY: undefined } });
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain("KEYGATE_ADMIN_KEY");
    const badKey = await cli(["keys", "list"], { env: { KEYGATE_ADMIN_KEY: "sk_live_wrong" } });
    expect(badKey.code).toBe(4);
    expect(badKey.err).toContain("UNAUTHENTICATED");
    expect(badKey.err).not.toContain("sk_live_wrong");
    const viaFlag = await cli(["keys", "list", "--api-key", t.admin.secret], { env: { KEYGATE_ADMIN_KEY: undefined } });
    expect(viaFlag.code).toBe(0);
    // KEYGATE_API_KEY, the name the CLI's help gave before it agreed with the server's banner, still works...
    const formerName = await cli(["keys", "list"], { env: { KEYGATE_ADMIN_KEY: undefined, KEYGATE_API_KEY: t.admin.secret } });
    expect(formerName.code).toBe(0);
    // ...but KEYGATE_ADMIN_KEY, the name keygate prints at start, wins.
    const bothNames = await cli(["keys", "list"], { env: { KEYGATE_API_KEY: "sk_live_wrong" } });
    expect(bothNames.code).toBe(0);
    const unreachable = await cli(["keys", "list", "--url", "http://127.0.0.1:9", "--timeout", "5"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain("cannot reach keygate");
  });

  it("answers --help on every command with exit 0", async () => {
    const commands = [
      [], ["keys"], ["keys", "list"], ["keys", "get"], ["keys", "create"], ["keys", "update"], ["keys", "rotate"],
      ["keys", "revoke"], ["keys", "delete"], ["keys", "test"], ["usage"], ["usage", "key"], ["usage", "org"],
      ["usage", "billing"], ["usage", "summary"], ["usage", "quota"], ["audit"], ["bootstrap"],
    ];
    for (const command of commands) {
      const run = await cli([...command, "--help"]);
      expect(run.code, command.join(" ")).toBe(0);
      expect(run.out, command.join(" ")).toMatch(/^Usage: keygate/);
      if (command.length > 0 && command[0] !== "bootstrap") expect(run.out, command.join(" ")).toContain("Exit codes");
    }
  });
});

describe("keygate usage and audit", () => {
  it("prints usage, billing, summary, quota and the audit log after traffic", async () => {
    const { key, secret } = await t.client.createKey({ name: "metered", scopes: ["machines:read"] });
    const envoy = envoyCheck(t.app.url);
    for (let i = 0; i < 3; i++) await envoy.check(secret, "/v1/machines");

    // Usage reaches the store on the recorder's next flush.
    await expect
      .poll(async () => Number((await json<{ totalRequests?: string }>(["usage", "key", key!.id, "--period", "day"])).totalRequests ?? 0), {
        timeout: 10_000,
      })
      .toBe(3);
    const usage = await cli(["usage", "key", key!.id, "--period", "day"]);
    expect(usage.code, usage.err).toBe(0);
    expect(usage.out).toMatch(/^requests:\s+\d+$/m);
    expect(usage.out).toContain("METHOD");
    for (const args of [["usage", "org"], ["usage", "summary", "--period", "month"], ["usage", "billing"], ["usage", "quota"]]) {
      const run = await cli(args);
      expect(run.code, `${args.join(" ")}: ${run.err}`).toBe(0);
      const asJson = await cli([...args, "--json"]);
      expect(asJson.code).toBe(0);
      expect(() => JSON.parse(asJson.out)).not.toThrow();
    }
    const quota = await json<{ plan: string }>(["usage", "quota"]);
    expect(quota.plan).toBe(t.config.defaultPlan);

    const audit = await cli(["audit", "--key", key!.id]);
    expect(audit.code).toBe(0);
    expect(audit.out).toMatch(/key\.create/);
    const events = await json<{ events: { action: string }[] }>(["audit", "--all", "--page-size", "2"]);
    expect(events.events.length).toBeGreaterThanOrEqual(2);
    for (const run of [usage, audit]) expect(run.out).not.toContain(secret);
  });
});
