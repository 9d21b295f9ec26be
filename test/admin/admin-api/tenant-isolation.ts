import { beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import type { TestApp } from "../../support/app.js";
import { failure } from "../answers.js";
import { keyCreator, type SuiteApp } from "./suite-app.js";

/** Another organization's keys are not found on any RPC, and its page tokens are refused. */
export function describeTenantIsolation(suite: () => SuiteApp): void {
  let t: TestApp;
  beforeAll(() => {
    ({ t } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("tenant isolation", () => {
    it("shows another organization's keys as not found on every RPC", async () => {
      const other = await t.anotherOrganization();
      const theirs = t.clientFor(other.secret);
      const { key, secret } = await createKey();
      const id = key!.id;
      for (const call of [
        () => theirs.getKey({ id }),
        () => theirs.updateKey({ id, name: "mine now" }),
        () => theirs.revokeKey({ id }),
        () => theirs.regenerateKey({ id }),
        () => theirs.deleteKey({ id }),
      ]) {
        expect(await failure(call())).toMatchObject({ code: Code.NotFound, reason: "API_KEY_NOT_FOUND" });
      }
      expect(await theirs.testKey({ apiKey: secret })).toMatchObject({ valid: false, reason: "API_KEY_INVALID", keyId: "" });
      const listed = await theirs.listKeys({ pageSize: 1000 });
      expect(listed.keys.every((k) => k.organizationId === other.organization.id)).toBe(true);
      const audit = await theirs.listAuditEvents({ pageSize: 1000 });
      expect(audit.events.every((e) => e.organizationId === other.organization.id)).toBe(true);
      expect((await theirs.listAuditEvents({ keyId: id })).events).toEqual([]);
      expect((await theirs.getMyLimits({})).organizationId).toBe(other.organization.id);
      expect((await t.client.getKey({ id })).key).toEqual(key);
    });

    it("refuses a page token issued to another organization", async () => {
      const other = await t.anotherOrganization();
      for (let i = 0; i < 3; i++) await createKey();
      const { nextPageToken } = await t.client.listKeys({ pageSize: 1 });
      expect(nextPageToken).not.toBe("");
      expect(await failure(t.clientFor(other.secret).listKeys({ pageSize: 1, pageToken: nextPageToken }))).toMatchObject({
        code: Code.InvalidArgument,
        field: "page_token",
      });
    });
  });
}
