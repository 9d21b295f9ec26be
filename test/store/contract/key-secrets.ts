import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { SealedSecret } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { aFullKey, aKey, hash } from "../../support/records.js";
import { keysThrough, T1, T2 } from "./fixtures.js";

/** Keys: rotating the secret (the old one findable as the previous secret) and the sealed copy kept for recovery. */
export function describeKeySecretsContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created, createdKeys } = keysThrough(() => store);

  describe("keys: replaceSecret", () => {
    it("swaps in the new secret and keeps the old one findable as the previous secret", async () => {
      const org = newId("org");
      const key = await created(aFullKey(org));
      const next = { secretHash: hash(), keyPrefix: "sk_live_Nw22", previousSecretExpiresAt: T2, updatedAt: T1 };
      const expected = {
        ...key,
        secretHash: next.secretHash,
        keyPrefix: next.keyPrefix,
        previousSecret: { hash: key.secretHash, expiresAt: T2 },
        updatedAt: T1,
      };
      expect(await store.keys.replaceSecret(org, key.id, next)).toStrictEqual(expected);
      expect(await store.keys.findById(org, key.id)).toStrictEqual(expected);
      expect(await store.keys.findByHash(next.secretHash)).toStrictEqual(expected);
      expect(await store.keys.findByHash(key.secretHash)).toStrictEqual(expected);
    });

    it("keeps only one previous secret: the one two rotations back stops being found", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      const second = hash();
      const third = hash();
      await store.keys.replaceSecret(org, key.id, {
        secretHash: second,
        keyPrefix: "sk_test_2222",
        previousSecretExpiresAt: T2,
        updatedAt: T1,
      });
      const rotated = await store.keys.replaceSecret(org, key.id, {
        secretHash: third,
        keyPrefix: "sk_test_3333",
        previousSecretExpiresAt: T2,
        updatedAt: T2,
      });
      expect(rotated).toStrictEqual({
        ...key,
        secretHash: third,
        keyPrefix: "sk_test_3333",
        previousSecret: { hash: second, expiresAt: T2 },
        updatedAt: T2,
      });
      expect(await store.keys.findByHash(key.secretHash)).toBeNull();
      expect((await store.keys.findByHash(second))?.id).toBe(key.id);
      expect((await store.keys.findByHash(third))?.id).toBe(key.id);
    });

    it("without a grace period the old secret stops being found at once", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      const next = { secretHash: hash(), keyPrefix: "sk_test_4444", previousSecretExpiresAt: null, updatedAt: T1 };
      expect(await store.keys.replaceSecret(org, key.id, next)).toStrictEqual({
        ...key,
        secretHash: next.secretHash,
        keyPrefix: next.keyPrefix,
        previousSecret: null,
        updatedAt: T1,
      });
      expect(await store.keys.findByHash(key.secretHash)).toBeNull();
      expect((await store.keys.findByHash(next.secretHash))?.id).toBe(key.id);
    });

    it("racing rotations never keep a secret that is two rotations old", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      const [a, b] = [hash(), hash()];
      await Promise.all([
        store.keys.replaceSecret(org, key.id, { secretHash: a, keyPrefix: "sk_test_aaaa", previousSecretExpiresAt: T2, updatedAt: T1 }),
        store.keys.replaceSecret(org, key.id, { secretHash: b, keyPrefix: "sk_test_bbbb", previousSecretExpiresAt: T2, updatedAt: T1 }),
      ]);
      const found = [await store.keys.findByHash(key.secretHash), await store.keys.findByHash(a), await store.keys.findByHash(b)];
      // Whichever ran second kept the first one's secret as previous; the original is gone.
      expect(found[0]).toBeNull();
      expect(found[1]?.id).toBe(key.id);
      expect(found[2]?.id).toBe(key.id);
    });

    it("refuses an unknown or revoked key", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      const revoked = await store.keys.revoke(org, key.id, T1);
      const next = { secretHash: hash(), keyPrefix: "sk_test_5555", previousSecretExpiresAt: null, updatedAt: T2 };
      expect(await store.keys.replaceSecret(org, key.id, next)).toBeNull();
      expect(await store.keys.replaceSecret(org, newId("key"), next)).toBeNull();
      expect(await store.keys.findById(org, key.id)).toStrictEqual(revoked);
      expect(await store.keys.findByHash(next.secretHash)).toBeNull();
    });

    it("rejects a secret hash another key already has", async () => {
      const org = newId("org");
      const [key, other] = await createdKeys(2, () => aKey(org));
      const next = { secretHash: other!.secretHash, keyPrefix: "sk_test_6666", previousSecretExpiresAt: null, updatedAt: T1 };
      await expect(store.keys.replaceSecret(org, key!.id, next)).rejects.toThrow(/duplicate/);
      expect(await store.keys.findById(org, key!.id)).toStrictEqual(key);
      expect(await store.keys.findByHash(other!.secretHash)).toStrictEqual(other);
    });
  });

  describe("keys: sealed secrets", () => {
    const sealed = (keyId = "kid-current"): SealedSecret => ({
      version: 1,
      keyId,
      nonce: hash().slice(0, 16),
      ciphertext: hash(),
    });

    it("stores a sealed secret with the key and gives it back exactly", async () => {
      const org = newId("org");
      const key = await created(aFullKey(org, { encryptedSecret: sealed() }));
      expect(await store.keys.findById(org, key.id)).toStrictEqual(key);
      expect(await store.keys.findByHash(key.secretHash)).toStrictEqual(key);
      expect(await store.keys.list(org, { limit: 10 })).toStrictEqual([key]);
    });

    it("drops the sealed secret when the key is revoked", async () => {
      const org = newId("org");
      const key = await created(aKey(org, { encryptedSecret: sealed() }));
      const { encryptedSecret: _dropped, ...rest } = key;
      const expected = { ...rest, revokedAt: T1, isActive: false, updatedAt: T1 };
      expect(await store.keys.revoke(org, key.id, T1)).toStrictEqual(expected);
      expect(await store.keys.findById(org, key.id)).toStrictEqual(expected);
    });

    it("replaceSecret seals the new secret, or keeps none: the old sealed secret never survives", async () => {
      const org = newId("org");
      const key = await created(aKey(org, { encryptedSecret: sealed() }));
      const next = sealed();
      const resealed = await store.keys.replaceSecret(org, key.id, {
        secretHash: hash(),
        keyPrefix: "sk_test_8888",
        previousSecretExpiresAt: null,
        encryptedSecret: next,
        updatedAt: T1,
      });
      expect(resealed?.encryptedSecret).toStrictEqual(next);
      const plain = await store.keys.replaceSecret(org, key.id, {
        secretHash: hash(),
        keyPrefix: "sk_test_9999",
        previousSecretExpiresAt: null,
        updatedAt: T2,
      });
      expect(plain).not.toHaveProperty("encryptedSecret");
      expect(await store.keys.findById(org, key.id)).not.toHaveProperty("encryptedSecret");
    });

    it("lists the keys of every organization sealed under another encryption key, a page at a time", async () => {
      const [orgA, orgB] = [newId("org"), newId("org")];
      const old = `kid-old-${hash().slice(0, 6)}`;
      const current = `kid-new-${hash().slice(0, 6)}`;
      const stale = [
        await created(aKey(orgA, { encryptedSecret: sealed(old) })),
        await created(aKey(orgB, { encryptedSecret: sealed(old) })),
        await created(aKey(orgA, { encryptedSecret: sealed(old) })),
      ];
      await created(aKey(orgA, { encryptedSecret: sealed(current) }));
      await created(aKey(orgB));
      const walked: string[] = [];
      let afterId: string | undefined;
      for (;;) {
        const page = await store.keys.listSealedNotWith(current, { limit: 2, ...(afterId === undefined ? {} : { afterId }) });
        if (page.length === 0) break;
        walked.push(...page.map((key) => key.id));
        afterId = page.at(-1)!.id;
      }
      // Other tests' sealed keys may be listed too; these three are, in id order, and no current one.
      const ours = walked.filter((id) => stale.some((key) => key.id === id));
      expect(ours).toEqual(stale.map((key) => key.id));
      expect(walked).toEqual([...walked].sort());
      const all = await store.keys.listSealedNotWith(current, { limit: 10_000 });
      expect(all.every((key) => key.encryptedSecret!.keyId !== current)).toBe(true);
    });

    it("replaces a sealed secret only while it is still the one expected", async () => {
      const org = newId("org");
      const first = sealed("kid-old");
      const key = await created(aKey(org, { encryptedSecret: first }));
      const second = sealed("kid-new");
      expect(await store.keys.replaceSealedSecret(newId("org"), key.id, first.nonce, second)).toBe(false);
      expect(await store.keys.replaceSealedSecret(org, key.id, first.nonce, second)).toBe(true);
      expect(await store.keys.replaceSealedSecret(org, key.id, first.nonce, sealed("kid-stale"))).toBe(false);
      expect((await store.keys.findById(org, key.id))?.encryptedSecret).toStrictEqual(second);
      const plain = await created(aKey(org));
      expect(await store.keys.replaceSealedSecret(org, plain.id, first.nonce, second)).toBe(false);
      expect(await store.keys.findById(org, plain.id)).toStrictEqual(plain);
    });
  });
}
