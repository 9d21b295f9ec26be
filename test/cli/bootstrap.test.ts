import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { createMongoStore } from "../../src/store/mongo/mongo-store.js";
import { startTestApp } from "../support/app.js";
import { capture, PEPPER } from "./capture.js";

describe("keygate bootstrap", () => {
  it("creates an organization on MongoDB whose printed admin key works against a server on it", async () => {
    const db = `keygate_cli_${randomBytes(4).toString("hex")}`;
    const run = capture({ MONGODB_URI: inject("mongoUri"), MONGODB_DB: db, KEYGATE_PEPPER: PEPPER });
    expect(await runCli(["bootstrap", "--org", "acme", "--plan", "enterprise", "--json"], run.io)).toBe(0);
    const printed = JSON.parse(run.out()) as { organizationId: string; keyId: string; secret: string; plan: string };
    expect(printed.secret).toMatch(/^sk_live_/);
    expect(printed.plan).toBe("enterprise");

    const store = createMongoStore(inject("mongoUri"), db);
    await store.init();
    const t = await startTestApp({ store, env: { KEYGATE_PEPPER: PEPPER } });
    try {
      const limits = await t.clientFor(printed.secret).getMyLimits({});
      expect(limits.organizationId).toBe(printed.organizationId);
      expect(limits.canCreateAdminKeys).toBe(true);
      const listed = await t.clientFor(printed.secret).listKeys({});
      expect(listed.keys.map((k) => k.id)).toContain(printed.keyId);
    } finally {
      await t.close();
      await store.close();
    }
  });

  it("prints the secret once for people, and explains wrong usage with exit code 2", async () => {
    const human = capture({ KEYGATE_DEMO_BOOTSTRAP: "false" });
    expect(await runCli(["bootstrap", "--org", "acme", "--environment", "test"], human.io)).toBe(0);
    expect(human.out().match(/sk_test_[0-9A-Za-z]{46}/g)).toHaveLength(1);
    // The line `npm start` prints for its demo key, ready for the CLI.
    expect(human.out()).toMatch(/^ {2}export KEYGATE_ADMIN_KEY=sk_test_[0-9A-Za-z]{46}$/m);
    expect(human.err()).toContain("MONGODB_URI is not set");

    for (const args of [["bootstrap"], ["bootstrap", "--org", "x", "--plan", "gold"], ["bootstrap", "--org", "x", "--bogus"], ["nope"]]) {
      const wrong = capture();
      expect(await runCli(args, wrong.io)).toBe(2);
      expect(wrong.err()).toMatch(/keygate/);
    }
    const badConfig = capture({ MONGODB_URI: "mongodb://localhost" });
    expect(await runCli(["bootstrap", "--org", "x"], badConfig.io)).toBe(2);
    expect(badConfig.err()).toContain("KEYGATE_PEPPER");
    const help = capture();
    expect(await runCli(["bootstrap", "--help"], help.io)).toBe(0);
    expect(help.out()).toContain("--org NAME");
  });
});
