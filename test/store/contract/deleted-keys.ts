import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { KeyRecord } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { aFullKey, aKey, hash } from "../../support/records.js";
import { keysThrough, T1, T2 } from "./fixtures.js";

/** Keys: what is kept of a deleted key (for leak reports), and ending a rotation's grace period early. */
export function describeDeletedKeysContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created } = keysThrough(() => store);

  const GRACE_ENDS = new Date("2031-03-04T00:00:00.000Z");

  async function rotated(key: KeyRecord): Promise<KeyRecord> {
    const next = { secretHash: hash(), keyPrefix: "sk_live_Nw22", previousSecretExpiresAt: GRACE_ENDS, updatedAt: T1 };
    return (await store.keys.replaceSecret(key.organizationId, key.id, next))!;
  }

  describe("deleted keys", () => {
    it("remembers a deleted key by its secret's and its previous secret's hash: public fields and hashes only", async () => {
      const org = newId("org");
      const key = await rotated(await created(aFullKey(org)));
      const before = Date.now();
      await store.keys.delete(org, key.id);
      const remembered = {
        id: key.id,
        organizationId: org,
        name: key.name,
        keyPrefix: key.keyPrefix,
        environment: key.environment,
        secretHashes: [key.secretHash, key.previousSecret!.hash],
        deletedAt: expect.any(Date),
      };
      const found = await store.deletedKeys.findByHash(key.secretHash);
      expect(found).toStrictEqual(remembered);
      expect(found!.deletedAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(await store.deletedKeys.findByHash(key.previousSecret!.hash)).toStrictEqual(remembered);
      expect(await store.keys.findByHash(key.secretHash)).toBeNull();
    });

    it("knows nothing of a live key, a revoked one, an unknown hash, or a delete that did not happen", async () => {
      const org = newId("org");
      const live = await created(aKey(org));
      const revoked = await created(aKey(org));
      await store.keys.revoke(org, revoked.id, T1);
      const elsewhere = await created(aKey(org));
      // Another organization's id for it deletes nothing, so nothing is remembered.
      expect(await store.keys.delete(newId("org"), elsewhere.id)).toBeNull();
      for (const secretHash of [live.secretHash, revoked.secretHash, elsewhere.secretHash, hash()]) {
        expect(await store.deletedKeys.findByHash(secretHash)).toBeNull();
      }
    });

    it("remembers a key deleted after it was revoked", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      await store.keys.revoke(org, key.id, T1);
      await store.keys.delete(org, key.id);
      expect(await store.deletedKeys.findByHash(key.secretHash)).toMatchObject({ id: key.id, organizationId: org, secretHashes: [key.secretHash] });
    });
  });

  describe("keys: endGracePeriod", () => {
    it("ends the previous secret's grace at once, keeps it findable by its hash, and keeps the current secret", async () => {
      const org = newId("org");
      const key = await rotated(await created(aFullKey(org)));
      const previous = key.previousSecret!.hash;
      const expected = { ...key, previousSecret: { hash: previous, expiresAt: T2 }, updatedAt: T2 };
      expect(await store.keys.endGracePeriod(org, key.id, previous, T2)).toStrictEqual(expected);
      expect(await store.keys.findByHash(previous)).toStrictEqual(expected);
      expect(await store.keys.findByHash(key.secretHash)).toStrictEqual(expected);
      expect(await store.keys.findById(org, key.id)).toStrictEqual(expected);
      // Ended already: nothing more to end.
      expect(await store.keys.endGracePeriod(org, key.id, previous, GRACE_ENDS)).toBeNull();
    });

    it("changes nothing when the key has no such previous secret, is revoked, or is another organization's", async () => {
      const org = newId("org");
      const key = await rotated(await created(aKey(org)));
      const previous = key.previousSecret!.hash;
      expect(await store.keys.endGracePeriod(org, key.id, key.secretHash, T2)).toBeNull();
      expect(await store.keys.endGracePeriod(newId("org"), key.id, previous, T2)).toBeNull();
      expect(await store.keys.findByHash(previous)).toStrictEqual(key);
      const revoked = (await store.keys.revoke(org, key.id, T1))!;
      expect(await store.keys.endGracePeriod(org, key.id, previous, T2)).toBeNull();
      expect(await store.keys.findById(org, key.id)).toStrictEqual(revoked);
      const never = await created(aKey(org));
      expect(await store.keys.endGracePeriod(org, never.id, hash(), T2)).toBeNull();
    });
  });
}
