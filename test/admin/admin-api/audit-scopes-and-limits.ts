import { beforeAll, describe, expect, it } from "vitest";
import type { TestApp } from "../../support/app.js";
import { text } from "../answers.js";
import { keyCreator, type SuiteApp } from "./suite-app.js";

/** The audit trail of key changes (never a secret), its pages, the scope catalog and the caller's limits. */
export function describeAuditScopesAndLimits(suite: () => SuiteApp): void {
  let t: TestApp;
  beforeAll(() => {
    ({ t } = suite());
  });
  const createKey = keyCreator(() => t);

  describe("audit, scopes and limits", () => {
    it("records every change with actor, key id and time, and never a secret", async () => {
      const org = await t.anotherOrganization();
      const client = t.clientFor(org.secret);
      const { key, secret } = await createKey({}, client);
      await client.updateKey({ id: key!.id, name: "renamed" });
      const rotated = await client.regenerateKey({ id: key!.id });
      await client.revokeKey({ id: key!.id, reason: "rotated out" });
      await client.deleteKey({ id: key!.id });
      const events = (await client.listAuditEvents({ keyId: key!.id })).events;
      expect(events.map((e) => e.action)).toEqual(["key.delete", "key.revoke", "key.regenerate", "key.update", "key.create"]);
      for (const event of events) {
        expect(event).toMatchObject({ actorKeyId: org.key.id, actorUserId: org.owner.id, keyId: key!.id, organizationId: org.organization.id });
        expect(event.occurredAt).toBeDefined();
      }
      expect(events[3]!.details["fields"]).toBe("name");
      const everything = text(await client.listAuditEvents({ pageSize: 1000 }));
      for (const s of [secret, rotated.secret, org.secret]) expect(everything).not.toContain(s.slice(12));
    });

    it("pages audit events newest first", async () => {
      const org = await t.anotherOrganization();
      const client = t.clientFor(org.secret);
      for (let i = 0; i < 5; i++) await createKey({}, client);
      const ids: string[] = [];
      let pageToken = "";
      do {
        const page = await client.listAuditEvents({ pageSize: 2, pageToken });
        ids.push(...page.events.map((e) => e.id));
        pageToken = page.nextPageToken;
      } while (pageToken);
      expect(ids).toEqual([...ids].sort().reverse());
      expect(ids.length).toBe(7);
    });

    it("lists the scope catalog and the caller's limits", async () => {
      const scopes = (await t.client.listScopes({})).scopes;
      expect(scopes.map((s) => s.name)).toEqual(t.config.scopes.map((s) => s.name));
      expect(scopes.every((s) => s.description !== "")).toBe(true);
      const limits = await t.client.getMyLimits({});
      expect(limits).toMatchObject({
        userId: t.admin.owner.id,
        maxKeys: 25,
        organizationMaxKeys: 100,
        maxRateLimit: 6000,
        canCreateAdminKeys: true,
      });
      expect(limits.currentKeys).toBe(await t.store.keys.countHoldingSlots(t.admin.organization.id, t.admin.owner.id));
      expect(limits.availableScopes).toContain("admin:write");
    });
  });
}
