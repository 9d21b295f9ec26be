import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { KeyRecord } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { aKey } from "../../support/records.js";
import { keysThrough, ROOMY, T1 } from "./fixtures.js";

/** Keys: an organization's keys, or one owner's, listed in id order a page at a time. */
export function describeKeyListingContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created, createdKeys } = keysThrough(() => store);

  describe("keys: list", () => {
    it("lists an organization's keys in id order, a page at a time after a cursor", async () => {
      const org = newId("org");
      const keys = await createdKeys(7, () => aKey(org));
      await created(aKey(newId("org")));
      const ids = (page: KeyRecord[]) => page.map((key) => key.id);
      expect(ids(await store.keys.list(org, { limit: 100 }))).toEqual(ids(keys));
      expect(ids(await store.keys.list(org, { limit: 3 }))).toEqual(ids(keys.slice(0, 3)));
      expect(ids(await store.keys.list(org, { afterId: keys[2]!.id, limit: 3 }))).toEqual(ids(keys.slice(3, 6)));
      expect(ids(await store.keys.list(org, { afterId: keys[5]!.id, limit: 3 }))).toEqual(ids(keys.slice(6)));
      expect(await store.keys.list(org, { afterId: keys[6]!.id, limit: 3 })).toEqual([]);
      expect(await store.keys.list(newId("org"), { limit: 3 })).toEqual([]);
    });

    it("filters on isActive, also across pages", async () => {
      const org = newId("org");
      const keys = await createdKeys(8, () => aKey(org));
      for (const i of [1, 4, 5]) {
        await store.keys.update(org, keys[i]!.id, { isActive: false, updatedAt: T1 }, ROOMY);
      }
      const ids = (page: KeyRecord[]) => page.map((key) => key.id);
      const disabled = [1, 4, 5].map((i) => keys[i]!.id);
      const enabled = [0, 2, 3, 6, 7].map((i) => keys[i]!.id);
      expect(ids(await store.keys.list(org, { isActive: false, limit: 100 }))).toEqual(disabled);
      expect(ids(await store.keys.list(org, { isActive: true, limit: 100 }))).toEqual(enabled);
      expect(ids(await store.keys.list(org, { isActive: true, afterId: keys[1]!.id, limit: 2 }))).toEqual(
        enabled.slice(1, 3),
      );
      expect(ids(await store.keys.list(org, { isActive: false, afterId: keys[4]!.id, limit: 2 }))).toEqual([
        keys[5]!.id,
      ]);
    });

    it("walks every key exactly once while keys are created and deleted between pages", async () => {
      const org = newId("org");
      const initial = (await createdKeys(30, () => aKey(org))).map((key) => key.id);
      const added: string[] = [];
      const deletedUnseen = new Set<string>();
      const seen: string[] = [];
      let afterId: string | undefined;
      for (let page = 0; page < 50; page++) {
        const keys = await store.keys.list(org, { limit: 5, ...(afterId === undefined ? {} : { afterId }) });
        if (keys.length === 0) break;
        seen.push(...keys.map((key) => key.id));
        afterId = keys.at(-1)!.id;
        if (page >= 4) continue;
        // Between pages: delete a key already walked past, delete one not reached yet, add one.
        expect(await store.keys.delete(org, seen[page * 2]!)).not.toBeNull();
        const ahead = initial.find((id) => id > afterId! && !deletedUnseen.has(id))!;
        expect(await store.keys.delete(org, ahead)).not.toBeNull();
        deletedUnseen.add(ahead);
        added.push((await created(aKey(org))).id);
      }
      const expected = [...initial, ...added].filter((id) => !deletedUnseen.has(id));
      expect(seen).toEqual(expected);
      expect(new Set(seen).size).toBe(seen.length);
    });
  });

  describe("keys: of one owner", () => {
    it("lists only the keys the user owns, in id order, revoked and disabled ones too", async () => {
      const org = newId("org");
      const [alice, bob] = [newId("user"), newId("user")];
      const keys = await createdKeys(6, () => aKey(org, { ownerUserId: alice }));
      await createdKeys(2, () => aKey(org, { ownerUserId: bob }));
      await created(aKey(newId("org"), { ownerUserId: alice }));
      await store.keys.revoke(org, keys[1]!.id, T1);
      await store.keys.update(org, keys[2]!.id, { isActive: false, updatedAt: T1 }, ROOMY);
      const ids = (page: KeyRecord[]) => page.map((key) => key.id);
      expect(ids(await store.keys.list(org, { ownerUserId: alice, limit: 100 }))).toEqual(ids(keys));
      expect(ids(await store.keys.list(org, { ownerUserId: alice, afterId: keys[3]!.id, limit: 1 }))).toEqual([keys[4]!.id]);
      expect(ids(await store.keys.list(org, { ownerUserId: alice, isActive: true, limit: 100 }))).toEqual(
        ids([keys[0]!, ...keys.slice(3)]),
      );
      expect(await store.keys.list(org, { ownerUserId: newId("user"), limit: 100 })).toEqual([]);
    });
  });
}
