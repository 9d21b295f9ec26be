import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { runCli } from "../../src/cli/main.js";
import { createMongoStore } from "../../src/store/mongo/mongo-store.js";
import { bearer, startTestApp } from "../support/app.js";
import { capture, PEPPER } from "./capture.js";

describe("keygate bootstrap --operator and keygate reencrypt (MongoDB)", () => {
  it("bootstraps an operator whose key creates organizations, and re-encrypts recoverable secrets under a new key", async () => {
    const db = `keygate_cli_${randomBytes(4).toString("hex")}`;
    const oldKey = randomBytes(32).toString("base64");
    const newKey = randomBytes(32).toString("base64");
    const env = { MONGODB_URI: inject("mongoUri"), MONGODB_DB: db, KEYGATE_PEPPER: PEPPER };

    const bootstrap = capture(env);
    expect(await runCli(["bootstrap", "--operator", "--json"], bootstrap.io)).toBe(0);
    const operator = JSON.parse(bootstrap.out()) as { organizationId: string; keyId: string; secret: string; operator: boolean };
    expect(operator.operator).toBe(true);

    const store = createMongoStore(inject("mongoUri"), db);
    await store.init();
    const first = await startTestApp({ store, env: { KEYGATE_PEPPER: PEPPER, KEYGATE_ENCRYPTION_KEY: oldKey } });
    const secrets: Record<string, string> = {};
    let ownerKey = "";
    try {
      const operatorApi = createClient(OperatorService, createConnectTransport({ baseUrl: first.app.url, httpVersion: "1.1", interceptors: [bearer(operator.secret)] }));
      const created = await operatorApi.createOrganization({ name: "Tenant", issueOwnerKey: true });
      ownerKey = created.ownerKeySecret;
      const tenant = first.clientFor(ownerKey);
      for (let i = 0; i < 3; i++) {
        const key = await tenant.createKey({ name: `k${i}`, scopes: ["machines:read"], recoverable: true });
        secrets[key.key!.id] = key.secret;
      }
    } finally {
      await first.close();
    }

    const rotation = { ...env, KEYGATE_ENCRYPTION_KEY: newKey, KEYGATE_ENCRYPTION_KEY_PREVIOUS: oldKey };
    const dry = capture(rotation);
    expect(await runCli(["reencrypt", "--dry-run", "--json"], dry.io)).toBe(0);
    expect(JSON.parse(dry.out())).toMatchObject({ dryRun: true, pending: 3, resealed: 0, unreadable: [] });
    const run = capture(rotation);
    expect(await runCli(["reencrypt", "--batch-size", "2"], run.io)).toBe(0);
    expect(run.out()).toMatch(/resealed\s+3/);
    for (const secret of Object.values(secrets)) expect(run.out() + run.err()).not.toContain(secret.slice(12));
    expect(run.out() + run.err()).not.toContain(newKey);

    const after = await startTestApp({ store, env: { KEYGATE_PEPPER: PEPPER, KEYGATE_ENCRYPTION_KEY: newKey } });
    try {
      // A server with only the new key shows every secret as it was at creation.
      for (const [id, secret] of Object.entries(secrets)) {
        expect((await after.clientFor(ownerKey).getKey({ id, showKeyValue: true })).secret).toBe(secret);
      }
      const again = capture(rotation);
      expect(await runCli(["reencrypt"], again.io)).toBe(0);
      expect(again.out()).toMatch(/resealed\s+0/);
    } finally {
      await after.close();
      await store.close();
    }
  });

  it("explains wrong usage of both commands", async () => {
    const noKey = capture({ KEYGATE_DEMO_BOOTSTRAP: "false" });
    expect(await runCli(["reencrypt"], noKey.io)).toBe(2);
    expect(noKey.err()).toContain("KEYGATE_ENCRYPTION_KEY must be set");
    const badKey = capture({ KEYGATE_ENCRYPTION_KEY: "too-short" });
    expect(await runCli(["reencrypt"], badKey.io)).toBe(2);
    expect(badKey.err()).toContain("KEYGATE_ENCRYPTION_KEY:");
    expect(badKey.err()).not.toContain("too-short");
    const badBatch = capture({ KEYGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64") });
    expect(await runCli(["reencrypt", "--batch-size", "0"], badBatch.io)).toBe(2);
    const help = capture();
    expect(await runCli(["reencrypt", "--help"], help.io)).toBe(0);
    expect(help.out()).toContain("KEYGATE_ENCRYPTION_KEY_PREVIOUS");
    const operatorHelp = capture();
    expect(await runCli(["bootstrap", "--help"], operatorHelp.io)).toBe(0);
    expect(operatorHelp.out()).toContain("--operator");
  });
});
