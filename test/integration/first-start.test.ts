import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { capture } from "../cli/capture.js";
import { transpiledSources, type TranspiledSources } from "../support/transpiled.js";

/**
 * What a newcomer sees on a first `npm start` (a real process on the embedded store): the
 * listening line and the demo banner name the console's URL, the banner's admin key works with
 * the CLI under the name the banner exports, `GET /` leads to the console, and a misspelt
 * KEYGATE_* variable is reported with the name that was meant, never with its value.
 */

const MISSPELT_VALUE = "a-pepper-that-must-never-be-printed-0123456789";

let sources: TranspiledSources | undefined;
let child: ChildProcess | undefined;
const lines: string[] = [];
let consoleUrl = "";
let adminKey = "";
let baseUrl = "";

beforeAll(async () => {
  sources = await transpiledSources("first-start-test");
  child = spawn(process.execPath, [join(sources.dir, "src", "main.js")], {
    env: { PATH: process.env["PATH"] ?? "", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", KEYGATE_PEPER: MISSPELT_VALUE },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr!.setEncoding("utf8").on("data", (text: string) => lines.push(text));
  const exited = new Promise((_, reject) => child!.once("exit", (code) => reject(new Error(`keygate exited (${code}):\n${lines.join("\n")}`))));
  // Both on stdout, in either order: the log is written asynchronously, the banner is not.
  const banner = new Promise<void>((resolve) => {
    const seen = { listening: false, banner: false };
    createInterface({ input: child!.stdout! }).on("line", (line) => {
      lines.push(line);
      seen.listening ||= line.includes('"keygate listening"');
      seen.banner ||= line.startsWith("The console: ");
      if (seen.listening && seen.banner) resolve();
    });
  });
  await Promise.race([banner, exited]);
  const listening = JSON.parse(lines.find((line) => line.includes('"keygate listening"'))!) as { port: number; console: string };
  baseUrl = `http://127.0.0.1:${listening.port}`;
  consoleUrl = listening.console;
  adminKey = /^ {2}export KEYGATE_ADMIN_KEY=(\S+)$/m.exec(lines.join("\n"))?.[1] ?? "";
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await sources?.remove();
});

describe("a first start", () => {
  it("names the console's URL in the listening line and in the demo banner", () => {
    expect(consoleUrl).toBe(`${baseUrl}/console/`);
    expect(lines).toContain(`The console: ${consoleUrl} (sign in with that key)`);
  });

  it("prints an admin key the CLI takes under the name the banner exports", async () => {
    expect(adminKey).toMatch(/^sk_test_/);
    const { io, out, err } = capture({ KEYGATE_URL: baseUrl, KEYGATE_ADMIN_KEY: adminKey });
    expect(await runCli(["keys", "list", "--json"], io), err()).toBe(0);
    expect(JSON.parse(out())).toHaveProperty("keys");
  });

  it("sends GET / to the console", async () => {
    const root = await fetch(`${baseUrl}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/console/");
    // Only GET (and HEAD): anything else at / is still no route.
    expect((await fetch(`${baseUrl}/`, { method: "POST" })).status).toBe(404);
  });

  it("warns of a misspelt KEYGATE_* variable, naming the nearest known one and not its value", () => {
    const warning = lines.find((line) => line.includes("KEYGATE_PEPER is not a keygate setting"));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: expect.anything(), variable: "KEYGATE_PEPER", nearest: "KEYGATE_PEPPER" });
    expect(warning).toContain("did you mean KEYGATE_PEPPER?");
    expect(lines.join("\n")).not.toContain(MISSPELT_VALUE);
  });
});
