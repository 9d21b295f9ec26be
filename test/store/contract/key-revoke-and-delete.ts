import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { KeyRecord } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { aFullKey, aKey } from "../../support/records.js";
import { keysThrough, T1, T2 } from "./fixtures.js";

/** Keys: revoking (also unless the key is the last usable holder of a scope) and deleting. */
export function describeKeyRevokeAndDeleteContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created, createdKeys } = keysThrough(() => store);

  describe("keys: revoke", () => {
    it("marks the key revoked and disabled once; a second call returns it unchanged", async () => {
      const org = newId("org");
      const key = await created(aFullKey(org));
      const expected = { ...key, revokedAt: T1, isActive: false, updatedAt: T1 };
      expect(await store.keys.revoke(org, key.id, T1)).toStrictEqual(expected);
      expect(await store.keys.revoke(org, key.id, T2)).toStrictEqual(expected);
      expect(await store.keys.findById(org, key.id)).toStrictEqual(expected);
      expect(await store.keys.findByHash(key.secretHash)).toStrictEqual(expected);
    });

    it("returns null for an unknown key", async () => {
      expect(await store.keys.revoke(newId("org"), newId("key"), T1)).toBeNull();
    });
  });

  describe("keys: revoke unless the last usable holder of a scope", () => {
    const HOLDS = ["platform:admin", "admin:read"];
    const revokedAt = (key: KeyRecord, at: Date): KeyRecord => ({ ...key, revokedAt: at, isActive: false, updatedAt: at });

    it("revokes a holder while another usable one remains, refuses the last and leaves it as it was", async () => {
      const org = newId("org");
      const [first, last] = await createdKeys(2, () => aKey(org, { scopes: HOLDS }));
      // Holders of no use count for nothing: disabled, expired at T2, revoked; nor do other scopes or another organization's key.
      await created(aKey(org, { scopes: HOLDS, isActive: false }));
      await created(aKey(org, { scopes: HOLDS, expiresAt: T1 }));
      await store.keys.revoke(org, (await created(aKey(org, { scopes: HOLDS }))).id, T1);
      await created(aKey(org, { scopes: ["admin:read"] }));
      await created(aKey(newId("org"), { scopes: HOLDS }));

      expect(await store.keys.revokeUnlessLastHolder(org, first!.id, "platform:admin", T2)).toStrictEqual({ ok: true, key: revokedAt(first!, T2) });
      expect(await store.keys.revokeUnlessLastHolder(org, last!.id, "platform:admin", T2)).toStrictEqual({ ok: false, reason: "last_holder" });
      expect(await store.keys.findById(org, last!.id)).toStrictEqual(last);
      // Already revoked: as it is, like revoke().
      expect(await store.keys.revokeUnlessLastHolder(org, first!.id, "platform:admin", T2)).toStrictEqual({ ok: true, key: revokedAt(first!, T2) });
      // Asked about a scope it does not hold, it is nobody's last holder.
      expect(await store.keys.revokeUnlessLastHolder(org, last!.id, "admin:write", T2)).toStrictEqual({ ok: true, key: revokedAt(last!, T2) });
      expect(await store.keys.countHoldingSlots(org)).toBe(3);
    });

    it("revokes a holder that is of no use whatever remains", async () => {
      const org = newId("org");
      const disabled = await created(aKey(org, { scopes: HOLDS, isActive: false }));
      expect(await store.keys.revokeUnlessLastHolder(org, disabled.id, "platform:admin", T2)).toStrictEqual({ ok: true, key: revokedAt(disabled, T2) });
    });

    it("answers not_found for an unknown key or one of another organization", async () => {
      const key = await created(aKey(newId("org"), { scopes: HOLDS }));
      expect(await store.keys.revokeUnlessLastHolder(newId("org"), key.id, "platform:admin", T1)).toEqual({ ok: false, reason: "not_found" });
      expect(await store.keys.revokeUnlessLastHolder(key.organizationId, newId("key"), "platform:admin", T1)).toEqual({ ok: false, reason: "not_found" });
      expect(await store.keys.findById(key.organizationId, key.id)).toStrictEqual(key);
    });

    it("never lets two calls racing to revoke the last two holders both win", async () => {
      for (let round = 0; round < 10; round++) {
        const org = newId("org");
        const pair = await createdKeys(2, () => aKey(org, { scopes: HOLDS }));
        const outcomes = await Promise.all(pair.map((key) => store.keys.revokeUnlessLastHolder(org, key.id, "platform:admin", T1)));
        const won = outcomes.filter((outcome) => outcome.ok).length;
        expect(won).toBeLessThanOrEqual(1);
        expect(outcomes.every((outcome) => outcome.ok || outcome.reason === "last_holder")).toBe(true);
        expect((await store.keys.list(org, { limit: 10 })).filter((key) => key.revokedAt === null)).toHaveLength(2 - won);
        // When both lost (each looked while the other's claim was on), a retry wins: no claim is left behind.
        if (won === 0) expect((await store.keys.revokeUnlessLastHolder(org, pair[0]!.id, "platform:admin", T1)).ok).toBe(true);
      }
    });
  });

  describe("keys: delete", () => {
    it("removes the key for good and returns what it was", async () => {
      const org = newId("org");
      const [first, key, last] = await createdKeys(3, () => aFullKey(org));
      expect(await store.keys.delete(org, key!.id)).toStrictEqual(key);
      expect(await store.keys.findById(org, key!.id)).toBeNull();
      expect(await store.keys.findByHash(key!.secretHash)).toBeNull();
      expect(await store.keys.list(org, { limit: 10 })).toStrictEqual([first, last]);
      expect(await store.keys.delete(org, key!.id)).toBeNull();
      expect(await store.keys.countByState(org)).toEqual({ total: 2, active: 2 });
    });

    it("deletes a revoked key too", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      const revoked = await store.keys.revoke(org, key.id, T1);
      expect(await store.keys.delete(org, key.id)).toStrictEqual(revoked);
      expect(await store.keys.findById(org, key.id)).toBeNull();
    });
  });
}
