import { beforeAll, describe, expect, it } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import type { ManualClock } from "../../../src/time/clock.js";
import type { TestApp } from "../../support/app.js";
import { failure } from "../answers.js";
import { HOUR, keyCreator, type SuiteApp } from "./suite-app.js";

/** Who may call at all: unknown, revoked, disabled and expired keys refused (and audited), admin:read to read, admin:write to change. */
export function describeCallerAuthentication(suite: () => SuiteApp): void {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(() => {
    ({ t, clock } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("caller authentication", () => {
    it("refuses a missing, malformed or unknown key as unauthenticated", async () => {
      for (const secret of ["", "not-a-key", "sk_live_" + "A".repeat(46)]) {
        const refused = await failure(t.clientFor(secret).listKeys({}));
        expect(refused).toMatchObject({ code: Code.Unauthenticated, reason: "UNAUTHENTICATED" });
      }
    });

    it("refuses revoked, disabled and expired keys and audits each failure", async () => {
      const revoked = await createKey({ scopes: ["admin:read"] });
      await t.client.revokeKey({ id: revoked.key!.id });
      const disabled = await createKey({ scopes: ["admin:read"], isActive: false });
      const expiring = await createKey({ scopes: ["admin:read"], expiresAt: timestampFromMs(clock.now() + HOUR) });
      expect((await t.clientFor(expiring.secret).listScopes({})).scopes.length).toBeGreaterThan(0);
      clock.advance(HOUR);
      for (const [created, why] of [
        [revoked, "API_KEY_REVOKED"],
        [disabled, "API_KEY_DISABLED"],
        [expiring, "API_KEY_EXPIRED"],
      ] as const) {
        const refused = await failure(t.clientFor(created.secret).listKeys({}));
        expect(refused).toMatchObject({ code: Code.Unauthenticated, reason: "UNAUTHENTICATED" });
        const events = (await t.client.listAuditEvents({ keyId: created.key!.id })).events;
        expect(events.find((e) => e.action === "auth.failed")).toMatchObject({
          actorKeyId: created.key!.id,
          details: { method: "ListKeys", reason: why },
        });
      }
    });

    it("needs admin:read to read and admin:write to change", async () => {
      const reader = await createKey({ scopes: ["admin:read", "machines:read"] });
      const none = await createKey({ scopes: ["machines:read"] });
      expect((await t.clientFor(reader.secret).listKeys({})).keys.length).toBeGreaterThan(0);
      expect(await failure(t.clientFor(reader.secret).createKey({ name: "x" }))).toMatchObject({
        code: Code.PermissionDenied,
        reason: "PERMISSION_DENIED",
      });
      expect(await failure(t.clientFor(none.secret).listKeys({}))).toMatchObject({ code: Code.PermissionDenied });
      const events = (await t.client.listAuditEvents({ keyId: none.key!.id })).events;
      expect(events.some((e) => e.action === "auth.failed" && e.details["reason"] === "SCOPE_MISSING")).toBe(true);
    });
  });
}
