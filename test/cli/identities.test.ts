import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliAgainst } from "./in-process-cli.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * keygate identities, run in process against a real server: an identity's whole life for scripts
 * (--json) and for people (fields and tables), and usage errors that name the argument at fault
 * without calling the server.
 */

let t: TestApp;
const { cli, json } = cliAgainst(() => t);

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

interface IdentityJson {
  id: string;
  externalId: string;
  name?: string;
  meta?: Record<string, string>;
  limits?: { name: string; limit: number; period: string }[];
  credits?: { remaining: string; refill?: { amount: string; interval: string; day?: number } };
}

describe("keygate identities", () => {
  it("runs an identity's whole life, for scripts (--json) and for people", async () => {
    const created = await json<{ identity: IdentityJson }>([
      "identities", "create", "--external-id", "acme", "--name", "Acme Corp", "--meta", "plan=gold",
      "--limit", "burst=10/second", "--limit", "daily=10000/day", "--credits", "1000", "--refill", "1000/monthly:15",
    ]);
    expect(created.identity).toMatchObject({
      externalId: "acme",
      name: "Acme Corp",
      meta: { plan: "gold" },
      limits: [
        { name: "burst", limit: 10, period: "RATE_LIMIT_PERIOD_SECOND" },
        { name: "daily", limit: 10000, period: "RATE_LIMIT_PERIOD_DAY" },
      ],
      credits: { remaining: "1000", refill: { amount: "1000", interval: "REFILL_INTERVAL_MONTHLY", day: 15 } },
    });
    const id = created.identity.id;

    const shown = await cli(["identities", "get", id]);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toMatch(/^limits:\s+burst=10\/second daily=10000\/day$/m);
    expect(shown.out).toMatch(/^credits:\s+1000 left of 1000 set \(refilled to 1000 monthly on day 15\)$/m);

    const listed = await cli(["identities", "list", "--external-id", "acme"]);
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toContain(id);

    const updated = await json<{ identity: IdentityJson }>(["identities", "update", id, "--name", "Acme Inc", "--no-credits", "--no-limits"]);
    expect(updated.identity).toMatchObject({ name: "Acme Inc", meta: { plan: "gold" } });
    expect(updated.identity.limits ?? []).toEqual([]);
    expect(updated.identity.credits).toBeUndefined();

    const usage = await cli(["identities", "usage", id, "--period", "day"]);
    expect(usage.code, usage.err).toBe(0);
    expect(usage.out).toContain("No keys are tied to it.");

    const again = await cli(["identities", "create", "--external-id", "acme"]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('another identity of the organization has external id "acme"');
    expect((await cli(["identities", "delete", id])).code).toBe(2);
    const tiedKey = await json<{ key: { id: string } }>(["keys", "create", "--name", "tied", "--identity", id]);
    const tied = await cli(["identities", "delete", id, "--yes"]);
    expect(tied.code).toBe(2);
    expect(tied.err).toBe(
      `keygate identities delete: 1 key is still tied to ${id}: ${tiedKey.key.id}. Untie each with \`keygate keys update KEY_ID --no-identity\`, or revoke it with \`keygate keys revoke KEY_ID\`, then delete again\n`,
    );
    expect((await cli(["keys", "update", tiedKey.key.id, "--no-identity"])).code).toBe(0);
    const deleted = await cli(["identities", "delete", id, "--yes"]);
    expect(deleted.code, deleted.err).toBe(0);
    expect((await cli(["identities", "get", id])).code).toBe(3);
  });

  it("ties keys to identities and gives them named limits and credits (keygate keys create/update)", async () => {
    const { identity } = await json<{ identity: IdentityJson }>(["identities", "create", "--external-id", "keyed"]);
    const made = await cli(["keys", "create", "--name", "metered", "--identity", identity.id, "--limit", "daily=1000/day", "--credits", "50", "--refill", "50/daily"]);
    expect(made.code, made.err).toBe(0);
    expect(made.out).toMatch(/^limits:\s+daily=1000\/day$/m);
    expect(made.out).toMatch(/^credits:\s+50 \(refilled to 50 daily\)$/m);
    expect(made.out).toMatch(new RegExp(`^identity:\\s+${identity.id}$`, "m"));
    const keyId = /^id:\s+(\S+)$/m.exec(made.out)![1]!;
    const untied = await json<{ key: { identityId?: string; limits?: unknown[]; credits?: unknown } }>(["keys", "update", keyId, "--no-identity", "--no-limits", "--no-credits"]);
    expect(untied.key.identityId ?? "").toBe("");
    expect(untied.key.limits ?? []).toEqual([]);
    expect(untied.key.credits).toBeUndefined();
    expect((await cli(["keys", "update", keyId, "--identity", identity.id, "--no-identity"], { env: { KEYGATE_URL: "http://127.0.0.1:9" } })).err).toContain("--identity and --no-identity exclude each other");
  });

  it("reports another organization's identity as not found (exit 3)", async () => {
    const other = await t.anotherOrganization();
    const { identity } = await t.clientFor(other.secret).createIdentity({ externalId: "theirs" });
    for (const args of [
      ["identities", "get", identity!.id],
      ["identities", "update", identity!.id, "--name", "mine"],
      ["identities", "usage", identity!.id],
      ["identities", "delete", identity!.id, "--yes"],
    ]) {
      const run = await cli(args);
      expect(run.code, `${args.join(" ")}: ${run.err}`).toBe(3);
    }
  });

  it("names the argument at fault in usage errors, without calling the server (exit 2)", async () => {
    // Nothing listens here: a command that called the server would exit 1.
    const offline = { env: { KEYGATE_URL: "http://127.0.0.1:9" } };
    for (const [args, says] of [
      [["identities", "create"], "--external-id ID is required"],
      [["identities", "create", "--external-id", "a", "--limit", "burst"], "--limit must look like NAME=10/second"],
      [["identities", "create", "--external-id", "a", "--limit", "burst=10/fortnight"], "--limit must look like 100/minute"],
      [["identities", "create", "--external-id", "a", "--meta", "novalue"], "--meta must look like KEY=VALUE"],
      [["identities", "create", "--external-id", "a", "--credits", "3k"], "--credits must be a whole number"],
      [["identities", "create", "--external-id", "a", "--credits", "5", "--refill", "5/daily:3"], "--refill must look like"],
      [["identities", "create", "--external-id", "a", "--refill", "5/daily"], "--refill goes with --credits"],
      [["identities", "update", "idt_x"], "nothing to change"],
      [["identities", "update", "idt_x", "--limit", "a=1/s", "--no-limits"], "--limit and --no-limits exclude each other"],
      [["identities", "usage", "idt_x", "--period", "year"], "--period"],
    ] as const) {
      const run = await cli([...args], offline);
      expect(run.code, `${args.join(" ")}: ${run.err}`).toBe(2);
      expect(run.err).toContain(says);
    }
  });
});
