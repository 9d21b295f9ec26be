import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { Store } from "../../../src/store/store.js";
import { aFullKey, aKey, hash } from "../../support/records.js";
import { keysThrough, ROOMY, T1, T2 } from "./fixtures.js";

/** Keys: a key is stored and found exactly, patched field by field, and never reached through another organization. */
export function describeKeyRecordsContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created, slotsHeld } = keysThrough(() => store);

  describe("keys: create and find", () => {
    it("stores every field and gives it back exactly, nulls included", async () => {
      const org = newId("org");
      const bare = await created(aKey(org));
      const full = await created(aFullKey(org));
      expect(await store.keys.findById(org, bare.id)).toStrictEqual(bare);
      expect(await store.keys.findById(org, full.id)).toStrictEqual(full);
      expect(await store.keys.findByHash(bare.secretHash)).toStrictEqual(bare);
      expect(await store.keys.list(org, { limit: 10 })).toStrictEqual([bare, full]);
    });

    it("hands out copies: changing a record in hand does not change the stored key", async () => {
      const org = newId("org");
      const key = aKey(org, { scopes: ["machines:read"] });
      const outcome = await store.keys.create(key, ROOMY);
      key.scopes.push("admin:write");
      key.name = "changed after create";
      if (outcome.ok) outcome.key.allowIps.push("0.0.0.0/0");
      const found = await store.keys.findById(org, key.id);
      found!.scopes.push("tags:write");
      expect(await store.keys.findById(org, key.id)).toEqual({ ...key, name: "ci deploy", scopes: ["machines:read"] });
    });

    it("finds nothing for an unknown id or hash", async () => {
      const org = newId("org");
      await created(aKey(org));
      expect(await store.keys.findById(org, newId("key"))).toBeNull();
      expect(await store.keys.findByHash(hash())).toBeNull();
    });

    it("rejects a duplicate id or secret hash and keeps no slot for it", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      await expect(store.keys.create(aKey(org, { id: key.id }), ROOMY)).rejects.toThrow(/duplicate/);
      await expect(store.keys.create(aKey(org, { secretHash: key.secretHash }), ROOMY)).rejects.toThrow(/duplicate/);
      expect(await slotsHeld(org, key.ownerUserId)).toEqual([1, 1]);
      expect(await store.keys.findById(org, key.id)).toStrictEqual(key);
    });
  });

  describe("keys: update", () => {
    it("changes only the fields present; undefined counts as absent", async () => {
      const org = newId("org");
      const key = await created(aFullKey(org));
      const outcome = await store.keys.update(
        org,
        key.id,
        { name: "renamed", description: undefined, rateLimit: undefined, expiresAt: undefined, updatedAt: T1 },
        ROOMY,
      );
      const expected = { ...key, name: "renamed", updatedAt: T1 };
      expect(outcome).toStrictEqual({ ok: true, key: expected });
      expect(await store.keys.findById(org, key.id)).toStrictEqual(expected);
    });

    it("clears rateLimit and expiresAt with null", async () => {
      const org = newId("org");
      const key = await created(aFullKey(org));
      const outcome = await store.keys.update(org, key.id, { rateLimit: null, expiresAt: null, updatedAt: T1 }, ROOMY);
      const expected = { ...key, rateLimit: null, expiresAt: null, updatedAt: T1 };
      expect(outcome).toStrictEqual({ ok: true, key: expected });
      expect(await store.keys.findById(org, key.id)).toStrictEqual(expected);
    });

    it("sets every patchable field at once", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      const patch = {
        name: "edge proxy",
        description: "front door",
        scopes: ["tags:read", "tags:write"],
        allowIps: ["192.168.1.0/24"],
        rateLimit: { limit: 5, period: "second" as const },
        expiresAt: T2,
        isActive: false,
        ownerUserId: newId("user"),
        updatedAt: T1,
      };
      const expected = { ...key, ...patch };
      expect(await store.keys.update(org, key.id, patch, ROOMY)).toStrictEqual({ ok: true, key: expected });
      expect(await store.keys.findById(org, key.id)).toStrictEqual(expected);
    });

    it("reports an unknown key as not found", async () => {
      const org = newId("org");
      expect(await store.keys.update(org, newId("key"), { name: "x", updatedAt: T1 }, ROOMY)).toEqual({
        ok: false,
        reason: "not_found",
      });
      expect(
        await store.keys.update(org, newId("key"), { ownerUserId: newId("user"), updatedAt: T1 }, ROOMY),
      ).toEqual({ ok: false, reason: "not_found" });
    });

    it("refuses a revoked key and leaves it as it was", async () => {
      const org = newId("org");
      const key = await created(aKey(org));
      const revoked = await store.keys.revoke(org, key.id, T1);
      for (const patch of [
        { isActive: true, updatedAt: T2 },
        { ownerUserId: newId("user"), updatedAt: T2 },
      ]) {
        expect(await store.keys.update(org, key.id, patch, ROOMY)).toEqual({ ok: false, reason: "revoked" });
      }
      expect(await store.keys.findById(org, key.id)).toStrictEqual(revoked);
    });
  });

  describe("keys: a new secret's expiry", () => {
    it("replaceSecret sets the expiry given with the new secret, and keeps the key's when none is", async () => {
      const org = newId("org");
      const key = await created(aFullKey(org));
      const given = await store.keys.replaceSecret(org, key.id, { secretHash: hash(), keyPrefix: "sk_test_8888", previousSecretExpiresAt: null, expiresAt: T2, updatedAt: T1 });
      expect(given).toMatchObject({ expiresAt: T2, keyPrefix: "sk_test_8888" });
      const kept = await store.keys.replaceSecret(org, key.id, { secretHash: hash(), keyPrefix: "sk_test_9999", previousSecretExpiresAt: null, updatedAt: T2 });
      expect(kept).toMatchObject({ expiresAt: T2, keyPrefix: "sk_test_9999" });
      expect(await store.keys.findById(org, key.id)).toStrictEqual(kept);
    });
  });

  describe("keys: organization isolation", () => {
    it("never shows or changes a key through another organization", async () => {
      const org = newId("org");
      const other = newId("org");
      const key = await created(aFullKey(org));
      expect(await store.keys.findById(other, key.id)).toBeNull();
      expect(await store.keys.list(other, { limit: 10 })).toEqual([]);
      expect(await store.keys.update(other, key.id, { name: "stolen", updatedAt: T1 }, ROOMY)).toEqual({
        ok: false,
        reason: "not_found",
      });
      expect(
        await store.keys.update(other, key.id, { ownerUserId: newId("user"), updatedAt: T1 }, ROOMY),
      ).toEqual({ ok: false, reason: "not_found" });
      expect(await store.keys.revoke(other, key.id, T1)).toBeNull();
      expect(
        await store.keys.replaceSecret(other, key.id, {
          secretHash: hash(),
          keyPrefix: "sk_test_7777",
          previousSecretExpiresAt: null,
          updatedAt: T1,
        }),
      ).toBeNull();
      expect(await store.keys.delete(other, key.id)).toBeNull();
      expect(await store.keys.countByState(other)).toEqual({ total: 0, active: 0 });
      expect(await store.keys.countHoldingSlots(other, key.ownerUserId)).toBe(0);
      expect(await store.keys.findById(org, key.id)).toStrictEqual(key);
      expect(await store.keys.findByHash(key.secretHash)).toStrictEqual(key);
      expect(await slotsHeld(org, key.ownerUserId)).toEqual([1, 1]);
    });
  });
}
