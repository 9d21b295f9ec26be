import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aKey } from "../support/records.js";
import { counterWriter } from "../support/stored-counters.js";
import { transpiledSources, type TranspiledSources } from "../support/transpiled.js";
import { PEPPER } from "../cli/capture.js";

/**
 * A real keygate process (`node …/src/main.js`) repairs the counters that bound keys at start,
 * before it listens, and says what it corrected; the store's repair itself is the store
 * contract's (test/store/contract/counter-repair.ts).
 */
let sources: TranspiledSources | undefined;
let mongo: FreshMongoStore;

beforeAll(async () => {
  sources = await transpiledSources("counter-repair-at-start-test");
  mongo = await freshMongoStore();
}, 60_000);

afterAll(async () => {
  await mongo?.cleanup();
  await sources?.remove();
});

/** Starts keygate, resolves with the log lines written up to "keygate listening", then stops it. */
function linesUntilListening(): Promise<{ msg: string; level: string; [field: string]: unknown }[]> {
  const child = spawn(process.execPath, [join(sources!.dir, "src", "main.js")], {
    env: {
      PATH: process.env["PATH"] ?? "",
      MONGODB_URI: inject("mongoUri"),
      MONGODB_DB: mongo.db.databaseName,
      KEYGATE_PEPPER: PEPPER,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stderr.setEncoding("utf8").on("data", (text: string) => output.push(text));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`keygate exited (${code}) before listening:\n${output.join("")}`)));
    const lines: { msg: string; level: string }[] = [];
    createInterface({ input: child.stdout }).on("line", (line) => {
      output.push(line);
      const entry = JSON.parse(line) as { msg: string; level: string };
      lines.push(entry);
      if (entry.msg !== "keygate listening") return;
      child.removeAllListeners("exit");
      child.kill("SIGKILL");
      resolve(lines);
    });
  });
}

describe("keygate at start (a process on MongoDB)", () => {
  it("repairs a counter a failover left wrong before it listens, and warns with what it corrected", async () => {
    const org = newId("org");
    await mongo.store.keys.create(aKey(org), { organizationMax: 5, userMax: 5 });
    await counterWriter(mongo.db)({ counter: "key_slots", organizationId: org }, 1 + 25);

    const lines = await linesUntilListening();
    const repaired = lines.findIndex((line) => line.msg === "key counters were wrong and are repaired");
    expect(repaired, JSON.stringify(lines)).toBeGreaterThanOrEqual(0);
    expect(repaired).toBeLessThan(lines.findIndex((line) => line.msg === "keygate listening"));
    expect(lines[repaired]).toMatchObject({ level: "warn", corrected: 1, corrections: [`key slots of organization ${org}: 26 → 1 (-25)`] });
    expect(await mongo.store.keys.countHoldingSlots(org)).toBe(1);

    const next = await linesUntilListening();
    expect(next).toContainEqual(expect.objectContaining({ level: "info", msg: "key counters checked: all right" }));
  });
});
