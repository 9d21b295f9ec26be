import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { withCauses } from "../../src/cli/output.js";
import { StoreUnavailableError } from "../../src/store/errors.js";
import { newId } from "../../src/model/ids.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { capture } from "./capture.js";

/**
 * The CLI prints stored strings (audit reasons, descriptions, request paths) and the server's
 * messages. Records written before the API refused control characters, or data-plane values,
 * may still hold them, so whatever it prints reaches the terminal escaped: no sequence runs, no
 * bidirectional override reorders a line, and no stored newline forges a table row.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

// Clear the screen, set the window title, the C1 CSI, a right-to-left override.
const HOSTILE = "\u001b[2J\u001b]0;owned\u0007\u009b31m\u202egnp.exe";
// Anything a terminal acts on except the newlines and tabs the CLI lays its own output out with.
const RAW_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

const cli = async (args: string[], url = t.app.url) => {
  const io = capture({ KEYGATE_URL: url, KEYGATE_ADMIN_KEY: t.admin.secret });
  const code = await runCli(args, io.io);
  return { code, out: io.out(), err: io.err() };
};

/** An audit event as an older keygate stored it, before RevokeKey refused control characters. */
async function storedRevocation(keyId: string, reason: string): Promise<void> {
  const now = t.clock.now();
  await t.store.audit.append({
    id: newId("evt", now),
    organizationId: t.admin.organization.id,
    action: "key.revoke",
    actorKeyId: t.admin.key.id,
    actorUserId: t.admin.owner.id,
    keyId,
    occurredAt: new Date(now),
    details: { reason },
  });
}

describe("the CLI escapes control characters in what it prints", () => {
  it("keygate audit shows a stored ESC[2J reason escaped, never raw", async () => {
    const keyId = newId("key", t.clock.now());
    await storedRevocation(keyId, `leaked ${HOSTILE}`);
    const run = await cli(["audit", "--key", keyId]);
    expect(run.code).toBe(0);
    expect(run.out).not.toMatch(RAW_UNSAFE);
    expect(run.out).toContain("reason=leaked \\u001b[2J\\u001b]0;owned\\u0007\\u009b31m\\u202egnp.exe");
  });

  it("a stored newline cannot forge a row of keygate audit", async () => {
    const keyId = newId("key", t.clock.now());
    await storedRevocation(keyId, "oops\n2031-01-01T00:00:00Z  key.delete  key_forged\r");
    const run = await cli(["audit", "--key", keyId]);
    expect(run.code).toBe(0);
    const lines = run.out.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("reason=oops\\n2031-01-01T00:00:00Z  key.delete  key_forged\\r");
  });

  it("--json keeps the stored value exactly, as valid JSON with every unsafe character escaped", async () => {
    const keyId = newId("key", t.clock.now());
    await storedRevocation(keyId, `leaked ${HOSTILE}`);
    const run = await cli(["audit", "--key", keyId, "--json"]);
    expect(run.code).toBe(0);
    expect(run.out).not.toMatch(RAW_UNSAFE);
    const parsed = JSON.parse(run.out) as { events: { details: Record<string, string> }[] };
    expect(parsed.events[0]!.details["reason"]).toBe(`leaked ${HOSTILE}`);
  });

  it("keygate keys get shows a stored description escaped", async () => {
    const { key } = await t.client.createKey({ name: "old record", scopes: ["machines:read"] });
    const slots = { organizationMax: 1000, userMax: 1000 };
    await t.store.keys.update(t.admin.organization.id, key!.id, { description: `for ${HOSTILE}`, updatedAt: new Date(t.clock.now()) }, slots);
    const run = await cli(["keys", "get", key!.id]);
    expect(run.code).toBe(0);
    expect(run.out).not.toMatch(RAW_UNSAFE);
    expect(run.out).toMatch(/description: +for \\u001b\[2J/);
  });

  describe("against a server that answers with control characters", () => {
    let hostile: Server;
    let url: string;
    beforeAll(async () => {
      hostile = createServer((_req, res) => {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: "not_found", message: `gone ${HOSTILE}` }));
      });
      await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => hostile.close(resolve));
    });

    it("prints its error message escaped", async () => {
      const run = await cli(["keys", "get", "key_x"], url);
      expect(run.code).toBe(3);
      expect(run.err).not.toMatch(RAW_UNSAFE);
      expect(run.err).toContain("gone \\u001b[2J");
    });
  });
});

describe("a failed command's message", () => {
  it("names what failed beneath it, cause by cause", () => {
    const refused = new Error("connect ECONNREFUSED 127.0.0.1:27017");
    expect(withCauses(new StoreUnavailableError("MongoDB unreachable", { cause: refused }))).toBe("MongoDB unreachable: connect ECONNREFUSED 127.0.0.1:27017");
    expect(withCauses(new Error("plain"))).toBe("plain");
    expect(withCauses("thrown text")).toBe("thrown text");
  });
});
