import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { startTestApp, type TestApp } from "../support/app.js";
import { failure } from "./answers.js";

/**
 * Free text a person writes (a key's description, a revocation reason) is shown later in
 * terminals (`keygate audit`, `keygate keys get`) and consoles: it may hold lines and tabs, but
 * nothing a terminal acts on (C0 and C1 controls, DEL) and no explicit bidirectional formatting
 * (embeddings, overrides, isolates), which makes the shown text differ from the stored one.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const UNSAFE: [string, string][] = [
  ["ESC [2J (clear the screen)", "\u001b[2J"],
  ["an OSC title change", "\u001b]0;owned\u0007"],
  ["NUL", "\u0000"],
  ["a carriage return", "\r"],
  ["DEL", "\u007f"],
  ["the C1 CSI", "\u009b2J"],
  ["NEL", "\u0085"],
  ["a right-to-left override", "\u202e"],
  ["a left-to-right embedding", "\u202a"],
  ["a first-strong isolate", "\u2068"],
  ["a pop directional isolate", "\u2069"],
];

const newKey = async () => (await t.client.createKey({ name: "text fields", scopes: ["machines:read"] })).key!;

describe("text fields refuse terminal control and bidirectional formatting characters", () => {
  it.each(UNSAFE)("RevokeKey.reason with %s: invalid_argument naming reason, and the key stays as it was", async (_name, unsafe) => {
    const key = await newKey();
    const refused = await failure(t.client.revokeKey({ id: key.id, reason: `leaked ${unsafe}on purpose` }));
    expect(refused).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field: "reason" });
    expect(refused.message).toMatch(/^reason: .*U\+[0-9A-F]{4}/);
    // The refusal quotes the character by its code point, never raw.
    expect(refused.message).not.toContain(unsafe);
    expect((await t.client.getKey({ id: key.id })).key!.revokedAt).toBeUndefined();
    expect(await t.store.audit.list(t.admin.organization.id, { keyId: key.id, limit: 10 })).not.toContainEqual(
      expect.objectContaining({ action: "key.revoke" }),
    );
  });

  it.each(UNSAFE)("CreateKey and UpdateKey description with %s: invalid_argument naming description", async (_name, unsafe) => {
    const created = await failure(t.client.createKey({ name: "text fields", description: `for ${unsafe}CI` }));
    expect(created).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field: "description" });
    const key = await newKey();
    const updated = await failure(t.client.updateKey({ id: key.id, description: `for ${unsafe}CI` }));
    expect(updated).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field: "description" });
    expect((await t.client.getKey({ id: key.id })).key!.description).toBe("");
  });

  it.each(UNSAFE)("CreateKey name with %s: invalid_argument naming name", async (_name, unsafe) => {
    expect(await failure(t.client.createKey({ name: `ci ${unsafe}deploy` }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "API_KEY_FIELD_INVALID",
      field: "name",
    });
  });

  it("keeps lines, tabs, and the right-to-left marks that Hebrew and Arabic text needs", async () => {
    const key = await newKey();
    const reason = "rotated out\n\tsee ticket 42 \u05e9\u05dc\u05d5\u05dd\u200f \u0645\u0631\u062d\u0628\u0627\u061c";
    await t.client.updateKey({ id: key.id, description: reason });
    expect((await t.client.getKey({ id: key.id })).key!.description).toBe(reason);
    await t.client.revokeKey({ id: key.id, reason });
    const [revoked] = await t.store.audit.list(t.admin.organization.id, { keyId: key.id, limit: 1 });
    expect(revoked).toMatchObject({ action: "key.revoke", details: { reason } });
  });

  it("still bounds the reason's length", async () => {
    const key = await newKey();
    expect(await failure(t.client.revokeKey({ id: key.id, reason: "x".repeat(501) }))).toMatchObject({
      code: Code.InvalidArgument,
      field: "reason",
    });
    await t.client.revokeKey({ id: key.id, reason: "x".repeat(500) });
  });
});
