import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import type { ManualClock } from "../../../src/time/clock.js";
import type { TestApp } from "../../support/app.js";
import { failure, text } from "../answers.js";
import { HOUR, keyCreator, type SuiteApp } from "./suite-app.js";

/** The audit trail of key changes (never a secret), its pages, the scope catalog and the caller's limits. */
export function describeAuditScopesAndLimits(suite: () => SuiteApp): void {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(() => {
    ({ t, clock } = suite());
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

    it("filters audit events by action, actor and time, in the caller's organization only, and keeps the filter across pages", async () => {
      const org = await t.anotherOrganization();
      const client = t.clientFor(org.secret);
      const made = [await createKey({}, client), await createKey({}, client)];
      await client.revokeKey({ id: made[0]!.key!.id, reason: "filter test" });
      const revokes = (await client.listAuditEvents({ action: "key.revoke" })).events;
      expect(revokes.map((e) => [e.action, e.keyId])).toEqual([["key.revoke", made[0]!.key!.id]]);
      const byOwner = (await client.listAuditEvents({ actorUserId: org.owner.id, action: "key.create" })).events;
      // The owner's keys: the two made here, and the organization's first, made at bootstrap.
      expect(byOwner.map((e) => e.keyId).sort()).toEqual([org.key.id, ...made.map((m) => m.key!.id)].sort());
      const withKey = (await client.listAuditEvents({ actorKeyId: org.key.id, action: "key.create" })).events;
      expect(withKey.map((e) => e.keyId).sort()).toEqual(made.map((m) => m.key!.id).sort());
      // Another organization's owner is nobody here.
      expect((await client.listAuditEvents({ actorUserId: t.admin.owner.id })).events).toEqual([]);
      const now = clock.now();
      const inRange = (await client.listAuditEvents({ occurredFrom: timestampFromMs(now - HOUR), occurredBefore: timestampFromMs(now + HOUR) })).events;
      expect(inRange.length).toBeGreaterThanOrEqual(3);
      expect((await client.listAuditEvents({ occurredFrom: timestampFromMs(now + HOUR) })).events).toEqual([]);

      const first = await client.listAuditEvents({ action: "key.create", pageSize: 1 });
      expect(first.nextPageToken).not.toBe("");
      const second = await client.listAuditEvents({ action: "key.create", pageSize: 1, pageToken: first.nextPageToken });
      expect([...first.events, ...second.events].map((e) => e.action)).toEqual(["key.create", "key.create"]);
      const switched = await failure(client.listAuditEvents({ action: "key.revoke", pageSize: 1, pageToken: first.nextPageToken }));
      expect(switched).toMatchObject({ code: Code.InvalidArgument, field: "page_token" });
    });

    it.each([
      ["an action that is not one", { action: "DROP TABLE" }, "action"],
      ["a user id of the wrong kind", { actorUserId: "key_01ABCDEFGHJKMNPQRSTVWXYZ01" }, "actor_user_id"],
      ["a key id that is not one", { actorKeyId: "alice" }, "actor_key_id"],
      ["an empty time range", { occurredFrom: timestampFromMs(2 * HOUR), occurredBefore: timestampFromMs(HOUR) }, "occurred_before"],
    ])("refuses audit filters with %s, naming the field", async (_case, filter, field) => {
      const refused = await failure(t.client.listAuditEvents(filter));
      expect(refused).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field });
      expect(refused.message).toContain(field);
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
