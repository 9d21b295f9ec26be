import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { KeyRecord } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { aKey } from "../../support/records.js";
import { keysThrough, ROOMY, T1 } from "./fixtures.js";

/** The key queries the webhook scheduler walks: keys expiring in a window, and usable keys created before a time. */
export function describeKeyScheduleContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created } = keysThrough(() => store);
  const ids = (keys: KeyRecord[]) => keys.map(({ id }) => id);
  // A window no other part of the contract gives keys an expiry in: the query spans every organization.
  const day = (n: number) => new Date(Date.UTC(2045, 5, n, 12));

  describe("keys: expiring between", () => {
    it("lists usable keys of every organization expiring in (from, to], in (expiry, id) order, a page at a time", async () => {
      const [orgA, orgB] = [newId("org"), newId("org")];
      const atFrom = await created(aKey(orgA, { expiresAt: day(1) }));
      const justAfter = await created(aKey(orgB, { expiresAt: new Date(day(1).getTime() + 1) }));
      const inside = await created(aKey(orgA, { expiresAt: day(3) }));
      const atTo = await created(aKey(orgB, { expiresAt: day(5) }));
      const afterTo = await created(aKey(orgA, { expiresAt: new Date(day(5).getTime() + 1) }));
      const disabled = await created(aKey(orgA, { expiresAt: day(3) }));
      await store.keys.update(orgA, disabled.id, { isActive: false, updatedAt: T1 }, ROOMY);
      const revoked = await created(aKey(orgB, { expiresAt: day(3) }));
      await store.keys.revoke(orgB, revoked.id, T1);
      await created(aKey(orgA));
      // Created last (the largest id) but expiring before atTo; and one sharing inside's expiry.
      const another = await created(aKey(orgB, { expiresAt: day(4) }));
      const alongside = await created(aKey(orgA, { expiresAt: day(3) }));

      const expected = [justAfter, inside, alongside, another, atTo];
      const cursor = (key: KeyRecord) => ({ expiresAt: key.expiresAt!, id: key.id });
      expect(ids(await store.keys.listExpiringBetween(day(1), day(5), { limit: 100 }))).toEqual(ids(expected));
      expect(ids(await store.keys.listExpiringBetween(day(1), day(5), { limit: 2 }))).toEqual(ids(expected.slice(0, 2)));
      // After a key, those sharing its expiry with larger ids come first.
      expect(ids(await store.keys.listExpiringBetween(day(1), day(5), { after: cursor(inside), limit: 2 }))).toEqual(ids(expected.slice(2, 4)));
      expect(ids(await store.keys.listExpiringBetween(day(1), day(5), { after: cursor(another), limit: 2 }))).toEqual(ids([atTo]));
      expect(await store.keys.listExpiringBetween(day(1), day(5), { after: cursor(atTo), limit: 3 })).toEqual([]);
      expect(await store.keys.listExpiringBetween(day(1), day(5), { limit: 1 })).toStrictEqual([justAfter]);
      expect(ids(await store.keys.listExpiringBetween(new Date(day(1).getTime() - 1), day(1), { limit: 100 }))).toEqual([atFrom.id]);
      expect(ids(await store.keys.listExpiringBetween(day(5), day(9), { limit: 100 }))).toEqual([afterTo.id]);
    });

    it("walks page by page to the end however keys change meanwhile, never repeating one", async () => {
      const org = newId("org");
      const keys = [];
      for (let i = 0; i < 6; i++) keys.push(await created(aKey(org, { expiresAt: new Date(day(20).getTime() + i) })));
      const first = await store.keys.listExpiringBetween(day(19), day(21), { limit: 2 });
      expect(ids(first)).toEqual(ids(keys.slice(0, 2)));
      // Meanwhile one key ahead is revoked.
      await store.keys.revoke(org, keys[3]!.id, T1);
      const last = first[1]!;
      const rest = await store.keys.listExpiringBetween(day(19), day(21), { after: { expiresAt: last.expiresAt!, id: last.id }, limit: 10 });
      expect(ids(rest)).toEqual(ids([keys[2]!, keys[4]!, keys[5]!]));
    });
  });

  describe("keys: usable and created before", () => {
    it("lists one organization's usable keys created before a time, in id order, a page at a time", async () => {
      const org = newId("org");
      const before = new Date("2031-06-01T00:00:00.000Z");
      const old = [];
      for (let i = 0; i < 4; i++) old.push(await created(aKey(org, { createdAt: new Date(before.getTime() - 1 - i) })));
      await created(aKey(org, { createdAt: before }));
      const disabled = await created(aKey(org, { createdAt: T1 }));
      await store.keys.update(org, disabled.id, { isActive: false, updatedAt: T1 }, ROOMY);
      const revoked = await created(aKey(org, { createdAt: T1 }));
      await store.keys.revoke(org, revoked.id, T1);
      await created(aKey(newId("org"), { createdAt: T1 }));

      expect(await store.keys.listUsableCreatedBefore(org, before, { limit: 100 })).toStrictEqual(old);
      expect(ids(await store.keys.listUsableCreatedBefore(org, before, { limit: 3 }))).toEqual(ids(old.slice(0, 3)));
      expect(ids(await store.keys.listUsableCreatedBefore(org, before, { afterId: old[2]!.id, limit: 3 }))).toEqual([old[3]!.id]);
      expect(await store.keys.listUsableCreatedBefore(org, before, { afterId: old[3]!.id, limit: 3 })).toEqual([]);
      expect(await store.keys.listUsableCreatedBefore(newId("org"), before, { limit: 3 })).toEqual([]);
    });
  });
}
