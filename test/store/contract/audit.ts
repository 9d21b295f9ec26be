import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { AuditEvent } from "../../../src/model/records.js";
import type { AuditListQuery, Store } from "../../../src/store/store.js";
import { T1, T2 } from "./fixtures.js";

/** The audit trail: events listed newest first, paged and filtered (key, action, actor, time), per organization. */
export function describeAuditContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  describe("audit", () => {
    const anEvent = (organizationId: string, keyId: string, action = "key.update"): AuditEvent => ({
      id: newId("evt"),
      organizationId,
      action,
      actorKeyId: newId("key"),
      actorUserId: newId("user"),
      keyId,
      occurredAt: T1,
      details: { fields: "name,scopes", "odd key.with dot": "value" },
    });

    /** Events of one organization about two keys, appended out of order, plus another organization's. */
    async function appendedEvents(): Promise<{ org: string; events: AuditEvent[]; keyA: string; keyB: string }> {
      const org = newId("org");
      const [keyA, keyB] = [newId("key"), newId("key")];
      const events = [keyA, keyB, keyA, keyA, keyB, keyA, keyB].map((keyId) => anEvent(org, keyId));
      for (const i of [3, 0, 6, 1, 5, 2, 4]) await store.audit.append(events[i]!);
      await store.audit.append(anEvent(newId("org"), keyA));
      return { org, events, keyA, keyB };
    }

    it("lists newest first, exactly as appended", async () => {
      const { org, events } = await appendedEvents();
      expect(await store.audit.list(org, { limit: 100 })).toStrictEqual([...events].reverse());
      expect(await store.audit.list(org, { limit: 3 })).toStrictEqual(events.slice(4).reverse());
    });

    it("pages with beforeId", async () => {
      const { org, events } = await appendedEvents();
      expect(await store.audit.list(org, { beforeId: events[4]!.id, limit: 3 })).toStrictEqual(
        events.slice(1, 4).reverse(),
      );
      expect(await store.audit.list(org, { beforeId: events[0]!.id, limit: 3 })).toEqual([]);
    });

    it("filters on the key, also with beforeId", async () => {
      const { org, events, keyA, keyB } = await appendedEvents();
      const ofA = events.filter((event) => event.keyId === keyA).reverse();
      expect(await store.audit.list(org, { keyId: keyA, limit: 100 })).toStrictEqual(ofA);
      expect(await store.audit.list(org, { keyId: keyB, beforeId: events[6]!.id, limit: 100 })).toStrictEqual([
        events[4],
        events[1],
      ]);
      expect(await store.audit.list(org, { keyId: keyA, beforeId: events[5]!.id, limit: 2 })).toStrictEqual([
        events[3],
        events[2],
      ]);
    });

    it("filters on the action, the actor and the time, each and together, also with beforeId", async () => {
      const org = newId("org");
      const [alice, bob] = [newId("user"), newId("user")];
      const [aliceKey, bobKey] = [newId("key"), newId("key")];
      const later = new Date(T2.getTime() + 1);
      const made = [
        { action: "key.create", actorUserId: alice, actorKeyId: aliceKey, occurredAt: T1 },
        { action: "key.revoke", actorUserId: bob, actorKeyId: bobKey, occurredAt: T1 },
        { action: "key.create", actorUserId: bob, actorKeyId: bobKey, occurredAt: T2 },
        { action: "key.revoke", actorUserId: alice, actorKeyId: aliceKey, occurredAt: T2 },
        { action: "key.create", actorUserId: alice, actorKeyId: aliceKey, occurredAt: later },
      ].map((fields) => ({ ...anEvent(org, newId("key")), ...fields }));
      for (const event of made) await store.audit.append(event);
      // The same doings in another organization must never show.
      for (const event of made) await store.audit.append({ ...event, id: newId("evt"), organizationId: newId("org") });
      const list = (query: Omit<AuditListQuery, "limit">) => store.audit.list(org, { ...query, limit: 100 });
      const newestFirst = (...indexes: number[]) => indexes.map((i) => made[i]);

      expect(await list({ action: "key.revoke" })).toStrictEqual(newestFirst(3, 1));
      expect(await list({ actorUserId: alice })).toStrictEqual(newestFirst(4, 3, 0));
      expect(await list({ actorKeyId: bobKey })).toStrictEqual(newestFirst(2, 1));
      expect(await list({ occurredFrom: T2 })).toStrictEqual(newestFirst(4, 3, 2));
      expect(await list({ occurredBefore: T2 })).toStrictEqual(newestFirst(1, 0));
      expect(await list({ occurredFrom: T2, occurredBefore: later })).toStrictEqual(newestFirst(3, 2));
      expect(await list({ action: "key.create", actorUserId: alice, occurredFrom: T2 })).toStrictEqual(newestFirst(4));
      expect(await store.audit.list(org, { action: "key.create", beforeId: made[4]!.id, limit: 1 })).toStrictEqual(newestFirst(2));
      expect(await list({ action: "key.delete" })).toEqual([]);
    });

    it("keeps organizations apart", async () => {
      const { keyA } = await appendedEvents();
      const other = newId("org");
      expect(await store.audit.list(other, { limit: 100 })).toEqual([]);
      expect(await store.audit.list(other, { keyId: keyA, limit: 100 })).toEqual([]);
    });
  });
}
