import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { generateSecret, isWellFormedSecret } from "../../src/model/secret.js";
import { capture } from "../cli/capture.js";

async function patterns() {
  const run = capture();
  expect(await runCli(["secret-scanning", "pattern", "--json"], run.io)).toBe(0);
  return JSON.parse(run.out()) as { token_type: string; github: string; custom: string };
}

describe("keygate secret-scanning pattern", () => {
  it("prints the token type and the patterns for GitHub and for custom scanners", async () => {
    const run = capture();
    expect(await runCli(["secret-scanning", "pattern"], run.io)).toBe(0);
    const { token_type, github, custom } = await patterns();
    expect(token_type).toBe("keygate_api_key");
    expect(run.out()).toContain(github);
    expect(run.out()).toContain(custom);
  });

  it("matches every secret keygate makes, whole, and inside the text it leaks in", async () => {
    const { github, custom } = await patterns();
    const whole = new RegExp(`^${github}$`);
    for (let i = 0; i < 500; i++) {
      const secret = generateSecret(i % 2 === 0 ? "live" : "test");
      expect(secret).toMatch(whole);
      expect(`API_KEY=${secret}\n`.match(new RegExp(custom))?.[0]).toBe(secret);
    }
  });

  it("matches none of the strings keygate rejects by their shape", async () => {
    const { github, custom } = await patterns();
    const secret = generateSecret("live");
    const rejected = [
      secret.slice(0, -1),
      `${secret}A`,
      secret.replace("sk_live_", "sk_prod_"),
      secret.replace("sk_live_", "SK_LIVE_"),
      `${secret.slice(0, 20)}-${secret.slice(21)}`,
      `${secret.slice(0, 20)}é${secret.slice(21)}`,
    ];
    for (const candidate of rejected) {
      expect(isWellFormedSecret(candidate)).toBe(false);
      expect(candidate).not.toMatch(new RegExp(`^${github}$`));
      expect(new RegExp(custom).exec(candidate)?.[0]).not.toBe(candidate);
    }
  });

  it("refuses another subcommand", async () => {
    const run = capture();
    expect(await runCli(["secret-scanning", "patterns"], run.io)).toBe(2);
    expect(run.err()).toContain("the one subcommand is pattern");
  });
});
