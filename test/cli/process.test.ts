import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { freshMongoStore } from "../support/mongo.js";
import { aKey } from "../support/records.js";
import { transpiledSources, type TranspiledSources } from "../support/transpiled.js";
import { counterWriter } from "../support/stored-counters.js";
import { PEPPER } from "./capture.js";

/**
 * The `keygate` command as an operator runs it: a process (package.json's bin), its output and
 * its exit code. The other CLI tests call runCli in process; this one proves the entry point runs it.
 */

const run = promisify(execFile);
let sources: TranspiledSources | undefined;
let cli = "";

beforeAll(async () => {
  sources = await transpiledSources("cli-process-test");
  cli = join(sources.dir, "src", "cli", "main.js");
}, 60_000);

afterAll(async () => {
  await sources?.remove();
});

/** Runs the command with only the variables given (no MONGODB_URI from the test's environment). */
async function keygate(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return run(process.execPath, [cli, ...args], { env: { PATH: process.env["PATH"] ?? "", ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, out: error.stdout, err: error.stderr }),
  );
}

describe("the keygate command, as a process", () => {
  it("bootstraps an organization and prints its admin key once, exit code 0", async () => {
    const result = await keygate(["bootstrap", "--org", "acme", "--json"]);
    expect(result.code, result.err).toBe(0);
    const printed = JSON.parse(result.out) as { secret: string; plan: string };
    expect(printed.secret).toMatch(/^sk_live_/);
    expect(result.err).toContain("MONGODB_URI is not set");
  });

  it("repairs counters a failover left wrong in MongoDB, printing each, exit code 0", async () => {
    const mongo = await freshMongoStore();
    try {
      const org = newId("org");
      const owner = newId("user");
      for (let i = 0; i < 2; i++) await mongo.store.keys.create(aKey(org, { ownerUserId: owner }), { organizationMax: 10, userMax: 10 });
      await counterWriter(mongo.db)({ counter: "key_slots", organizationId: org }, 2 + 25);
      const env = { MONGODB_URI: inject("mongoUri"), MONGODB_DB: mongo.db.databaseName, KEYGATE_PEPPER: PEPPER };

      const result = await keygate(["repair-counters"], env);
      expect(result.code, result.err).toBe(0);
      expect(result.out).toContain(`key slots of organization ${org}: 27 → 2 (-25)`);
      expect(result.out).toMatch(/wrong, repaired\s+1\n/);
      expect(await mongo.store.keys.countHoldingSlots(org)).toBe(2);

      const again = await keygate(["repair-counters", "--json"], env);
      expect(again.code, again.err).toBe(0);
      expect(JSON.parse(again.out)).toEqual({ checked: 2, corrections: [] });
    } finally {
      await mongo.cleanup();
    }
  });

  it("repair-counters on the embedded store: nothing to repair, and says why, exit code 0", async () => {
    const result = await keygate(["repair-counters"]);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/counters checked\s+0\n/);
    expect(result.err).toContain("MONGODB_URI is not set");
  });

  it("explains wrong usage with exit code 2", async () => {
    const result = await keygate(["nope"]);
    expect(result.code).toBe(2);
    expect(result.err).toContain("nope");
  });

  it("ends quietly with its own exit code when the reader of its output goes away (| head)", async () => {
    // The read end is closed before node has even loaded the CLI, so every write meets EPIPE.
    for (const [args, code] of [[["--help"], 0], [[], 2]] as const) {
      const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.destroy();
      let err = "";
      child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
      const [exitCode] = (await once(child, "close")) as [number];
      expect(err).toBe("");
      expect(exitCode).toBe(code);
    }
  });
});
