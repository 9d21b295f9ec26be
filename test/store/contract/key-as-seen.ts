import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import { asSeen, KeyChangedError, type KeyAsSeen } from "../../../src/store/key-as-seen.js";
import type { Store } from "../../../src/store/store.js";
import { aFullKey, aKey, hash, T0 } from "../../support/records.js";
import { keysThrough, ROOMY, T1, T2 } from "./fixtures.js";

/** Keys: the conditional writes an admin decision makes, which write only while the key is as the decision saw it. */
export function describeKeyAsSeenContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created, createdKeys, slotsHeld } = keysThrough(() => store);

  describe("keys: writes only on the key as it was seen", () => {
    /** The four writes an admin decision makes, each on the key as `seen`. */
    const conditionalWrites = (org: string, id: string, seen: KeyAsSeen) => ({
      update: () => store.keys.update(org, id, { name: "decided on", updatedAt: T2 }, ROOMY, seen),
      "update giving it away": () => store.keys.update(org, id, { ownerUserId: newId("user"), updatedAt: T2 }, ROOMY, seen),
      revoke: () => store.keys.revoke(org, id, T2, seen),
      delete: () => store.keys.delete(org, id, seen),
      replaceSecret: () =>
        store.keys.replaceSecret(org, id, { secretHash: hash(), keyPrefix: "sk_test_5555", previousSecretExpiresAt: T2, updatedAt: T2 }, seen),
    });

    it("writes while the key is still as seen", async () => {
      const org = newId("org");
      const keys = await createdKeys(5, () => aFullKey(org));
      const writes = keys.map((key) => conditionalWrites(org, key.id, asSeen(key)));
      expect(await writes[0]!.update()).toMatchObject({ ok: true, key: { name: "decided on", updatedAt: T2 } });
      expect((await writes[1]!["update giving it away"]()).ok).toBe(true);
      expect(await writes[2]!.revoke()).toMatchObject({ revokedAt: T2 });
      expect(await writes[3]!.delete()).toStrictEqual(keys[3]);
      expect(await writes[4]!.replaceSecret()).toMatchObject({ keyPrefix: "sk_test_5555", updatedAt: T2 });
    });

    // What another writer may do between the decision's read and its write; the first two keep
    // updatedAt (writes in one millisecond), so only the owner or scopes compared catch them.
    const changes = {
      "re-owned in the same millisecond": { ownerUserId: newId("user"), updatedAt: T0 },
      "broadened in the same millisecond": { scopes: ["machines:read", "admin:write"], updatedAt: T0 },
      "renamed later": { name: "renamed", updatedAt: T1 },
    };
    for (const [change, patch] of Object.entries(changes)) {
      it(`writes nothing on a key ${change} since it was seen, and says so`, async () => {
        const org = newId("org");
        const seenKey = await created(aFullKey(org));
        const seen = asSeen(seenKey);
        const changed = await store.keys.update(org, seenKey.id, patch, ROOMY);
        if (!changed.ok) throw new Error(`setting up: ${changed.reason}`);
        const slots = await slotsHeld(org, seenKey.ownerUserId, changed.key.ownerUserId);
        for (const [write, call] of Object.entries(conditionalWrites(org, seenKey.id, seen))) {
          await expect(call(), write).rejects.toBeInstanceOf(KeyChangedError);
        }
        expect(await store.keys.findById(org, seenKey.id)).toStrictEqual(changed.key);
        expect(await store.keys.findByHash(seenKey.secretHash)).toStrictEqual(changed.key);
        expect(await slotsHeld(org, seenKey.ownerUserId, changed.key.ownerUserId)).toEqual(slots);
      });
    }

    it("answers an unknown key as without a precondition", async () => {
      const org = newId("org");
      const gone = await created(aKey(org));
      await store.keys.delete(org, gone.id);
      const writes = conditionalWrites(org, gone.id, asSeen(gone));
      expect(await writes.update()).toEqual({ ok: false, reason: "not_found" });
      expect(await writes["update giving it away"]()).toEqual({ ok: false, reason: "not_found" });
      expect(await writes.revoke()).toBeNull();
      expect(await writes.delete()).toBeNull();
      expect(await writes.replaceSecret()).toBeNull();
    });

    it("answers a key revoked as seen as without a precondition, and one changed since as changed", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      const revoked = (await store.keys.revoke(org, key.id, T1))!;
      const writes = conditionalWrites(org, key.id, asSeen(revoked));
      expect(await writes.update()).toEqual({ ok: false, reason: "revoked" });
      expect(await writes["update giving it away"]()).toEqual({ ok: false, reason: "revoked" });
      expect(await writes.revoke()).toStrictEqual(revoked);
      expect(await writes.replaceSecret()).toBeNull();
      const beforeRevoke = conditionalWrites(org, key.id, asSeen(key));
      for (const write of ["update", "update giving it away", "revoke", "replaceSecret"] as const) {
        await expect(beforeRevoke[write](), write).rejects.toBeInstanceOf(KeyChangedError);
      }
      expect(await store.keys.findById(org, key.id)).toStrictEqual(revoked);
      expect(await writes.delete()).toStrictEqual(revoked);
    });
  });
}
