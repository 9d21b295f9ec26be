import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliAgainst } from "./in-process-cli.js";
import { envoyCheck } from "../metrics/envoy-check.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * keygate keys list's --state, --query and --order, keygate audit's filter flags (each asked of
 * the server, mistyped ones refused before anything is sent), and how usage summary reads a
 * growth from zero and a missing response time.
 */

let t: TestApp;
const { cli, json } = cliAgainst(() => t);
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

interface KeyJson {
  id: string;
  name: string;
}

describe("keygate keys list filters", () => {
  it("lists by state, search and order, and says how to get the next page with the same filters", async () => {
    for (const name of ["list b", "list a", "list c", "other"]) await t.client.createKey({ name, scopes: [] });
    const gone = (await t.client.createKey({ name: "list gone", scopes: [] })).key!;
    await t.client.revokeKey({ id: gone.id });
    const names = async (...args: string[]) => (await json<{ keys?: KeyJson[] }>(["keys", "list", ...args])).keys?.map((k) => k.name) ?? [];
    expect(await names("--state", "revoked")).toEqual(["list gone"]);
    expect(await names("--query", "LIST", "--state", "active", "--order", "name")).toEqual(["list a", "list b", "list c"]);
    expect(await names("--query", "list", "--order", "name-desc")).toEqual(["list gone", "list c", "list b", "list a"]);
    expect(await names("--query", gone.id)).toEqual(["list gone"]);

    const first = await cli(["keys", "list", "--query", "list", "--order", "name", "--page-size", "3"]);
    expect(first.code, first.err).toBe(0);
    const next = /^More keys: keygate (keys list .+)$/m.exec(first.out)?.[1];
    expect(next).toMatch(/^keys list --query list --order name --page-size 3 --page-token \S+$/);
    const rest = await cli(next!.split(" "));
    expect(rest.code, rest.err).toBe(0);
    expect(rest.out).toContain("list gone");
    expect(rest.out).not.toContain("list a");
  });

  it("lists the keys tied to an identity", async () => {
    const { identity } = await t.client.createIdentity({ externalId: "cli-list-customer", name: "Customer" });
    const tied = (await t.client.createKey({ name: "tied to customer", scopes: [], identityId: identity!.id })).key!;
    const listed = await json<{ keys?: KeyJson[] }>(["keys", "list", "--identity", identity!.id]);
    expect(listed.keys?.map((k) => k.id)).toEqual([tied.id]);
  });

  it.each([
    [["keys", "list", "--state", "sleeping"], "--state"],
    [["keys", "list", "--order", "random"], "--order"],
    [["keys", "list", "--state", "active", "--disabled"], "--state"],
    [["audit", "--actor-user", "key_x"], "--actor-user"],
    [["audit", "--actor-key", "user_x"], "--actor-key"],
    [["audit", "--from", "yesterday"], "--from"],
    [["audit", "--from", "2030-01-02", "--before", "2030-01-01"], "--before"],
  ])("refuses %j as usage naming %s, exit 2", async (args, named) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.err).toContain(named);
  });

  it("passes what only the server can judge to it, and prints the field it names", async () => {
    const badAction = await cli(["audit", "--action", "Key Revoke"]);
    expect(badAction.code).toBe(2);
    expect(badAction.err).toContain("action");
    const longQuery = await cli(["keys", "list", "--query", "x".repeat(101)]);
    expect(longQuery.code).toBe(2);
    expect(longQuery.err).toContain("query");
  });
});

describe("keygate audit filters", () => {
  it("asks for one action, one actor and a time range", async () => {
    const { key } = await t.client.createKey({ name: "audited", scopes: [] });
    await t.client.revokeKey({ id: key!.id, reason: "done" });
    const actions = async (...args: string[]) => (await json<{ events?: { action: string; keyId?: string }[] }>(["audit", "--all", ...args])).events ?? [];
    const revokes = await actions("--action", "key.revoke");
    expect(revokes.map((e) => e.action)).toContain("key.revoke");
    expect(revokes.every((e) => e.action === "key.revoke")).toBe(true);
    expect((await actions("--actor-key", t.admin.key.id, "--key", key!.id)).map((e) => e.action)).toEqual(["key.revoke", "key.create"]);
    expect(await actions("--actor-key", key!.id)).toEqual([]);
    const now = new Date(t.clock.now());
    const hourAgo = new Date(now.getTime() - 3_600_000).toISOString();
    const later = new Date(now.getTime() + 3_600_000).toISOString();
    expect((await actions("--key", key!.id, "--from", hourAgo, "--before", later)).length).toBe(2);
    expect(await actions("--key", key!.id, "--before", hourAgo)).toEqual([]);
  });
});

describe("keygate usage summary", () => {
  it("prints no growth and no response time as a dash, then growth from zero as new", async () => {
    const quiet = await cli(["usage", "summary", "--period", "day"]);
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.out).toMatch(/^growth:\s+—$/m);
    expect(quiet.out).toMatch(/^avg response:\s+— \(no access-log data: .*access log service.*\)$/m);
    expect(quiet.out).not.toMatch(/0\.0 ms|^growth:.*%/m);

    const { key, secret } = await t.client.createKey({ name: "metered", scopes: ["machines:read"] });
    await envoyCheck(t.app.url).check(secret, "/v1/machines");
    // Usage reaches the store on the recorder's next flush.
    await expect
      .poll(async () => Number((await json<{ totalRequests?: string }>(["usage", "key", key!.id, "--period", "day"])).totalRequests ?? 0), { timeout: 10_000 })
      .toBe(1);
    const busy = await cli(["usage", "summary", "--period", "day"]);
    expect(busy.out).toMatch(/^growth:\s+new$/m);
  });
});
