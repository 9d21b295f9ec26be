import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { asSeen, KeyChangedError, type KeyAsSeen } from "../../src/store/key-as-seen.js";
import type { CreateKeyOutcome, KeySlotLimits, Store } from "../../src/store/store.js";
import type { AuditEvent, KeyRecord, Organization, SealedSecret, User } from "../../src/model/records.js";
import { aFullKey, aKey, hash, T0 } from "../support/records.js";
import { describeUsageContract } from "../usage/usage-contract.js";

/**
 * The one contract every store keeps (src/store/store.ts). Each implementation runs it from its own
 * test file. A store is made once per file; every test works in organizations of its own, so tests
 * do not see each other's keys and also exercise tenant isolation as they go.
 */

export interface StoreUnderTest {
  store: Store;
  cleanup(): Promise<void>;
}

const ROOMY: KeySlotLimits = { organizationMax: 1_000, userMax: 1_000 };
const T1 = new Date("2031-03-02T11:30:00.123Z");
const T2 = new Date("2031-03-03T12:45:00.456Z");

const refused = (reason: string): CreateKeyOutcome => ({ ok: false, reason }) as CreateKeyOutcome;

export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`${name} store contract`, () => {
    let underTest: StoreUnderTest | undefined;
    let store: Store;

    beforeAll(async () => {
      underTest = await makeStore();
      store = underTest.store;
    });

    afterAll(async () => {
      await underTest?.cleanup();
    });

    /** Creates a key that must be accepted and returns it as given. */
    async function created(key: KeyRecord, limits: KeySlotLimits = ROOMY): Promise<KeyRecord> {
      expect(await store.keys.create(key, limits)).toEqual({ ok: true, key });
      return key;
    }

    async function createdKeys(count: number, make: () => KeyRecord, limits: KeySlotLimits = ROOMY): Promise<KeyRecord[]> {
      const keys: KeyRecord[] = [];
      for (let i = 0; i < count; i++) keys.push(await created(make(), limits));
      return keys;
    }

    /** Slots held by the organization and by each of the given owners, in that order. */
    const slotsHeld = (organizationId: string, ...owners: string[]): Promise<number[]> =>
      Promise.all([
        store.keys.countHoldingSlots(organizationId),
        ...owners.map((owner) => store.keys.countHoldingSlots(organizationId, owner)),
      ]);

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

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

    describe("keys: counts", () => {
      it("counts keys by state: disabled keys count in total, revoked and disabled ones are not active", async () => {
        const org = newId("org");
        const [, disabled, revoked] = await createdKeys(4, () => aKey(org));
        await store.keys.update(org, disabled!.id, { isActive: false, updatedAt: T1 }, ROOMY);
        await store.keys.revoke(org, revoked!.id, T1);
        expect(await store.keys.countByState(org)).toEqual({ total: 4, active: 2 });
        expect(await store.keys.countByState(newId("org"))).toEqual({ total: 0, active: 0 });
      });

      it("counts slots held by the organization and by each owner", async () => {
        const org = newId("org");
        const [alice, bob] = [newId("user"), newId("user")];
        await createdKeys(3, () => aKey(org, { ownerUserId: alice }));
        const [bobsKey] = await createdKeys(2, () => aKey(org, { ownerUserId: bob }));
        await store.keys.revoke(org, bobsKey!.id, T1);
        expect(await slotsHeld(org, alice, bob, newId("user"))).toEqual([4, 3, 1, 0]);
        expect(await store.keys.countHoldingSlots(newId("org"))).toBe(0);
      });
    });

    describe("keys: slot limits", () => {
      it("refuses a key when the organization is full, checking the organization before the user", async () => {
        const org = newId("org");
        const owner = newId("user");
        const limits = { organizationMax: 2, userMax: 2 };
        await createdKeys(2, () => aKey(org, { ownerUserId: owner }), limits);
        const extra = aKey(org, { ownerUserId: owner });
        expect(await store.keys.create(extra, limits)).toEqual(refused("organization_limit"));
        expect(await store.keys.create(aKey(org), limits)).toEqual(refused("organization_limit"));
        expect(await store.keys.findById(org, extra.id)).toBeNull();
        expect(await slotsHeld(org, owner)).toEqual([2, 2]);
      });

      it("refuses a key when its owner is full, and gives the organization's slot back", async () => {
        const org = newId("org");
        const owner = newId("user");
        const limits = { organizationMax: 10, userMax: 2 };
        await createdKeys(2, () => aKey(org, { ownerUserId: owner }), limits);
        expect(await store.keys.create(aKey(org, { ownerUserId: owner }), limits)).toEqual(refused("user_limit"));
        expect(await slotsHeld(org, owner)).toEqual([2, 2]);
        await created(aKey(org, { ownerUserId: newId("user") }), limits);
      });

      it("refuses every key under a limit of zero", async () => {
        const org = newId("org");
        expect(await store.keys.create(aKey(org), { organizationMax: 0, userMax: 5 })).toEqual(
          refused("organization_limit"),
        );
        expect(await store.keys.create(aKey(org), { organizationMax: 5, userMax: 0 })).toEqual(refused("user_limit"));
        expect(await slotsHeld(org, "user_OWNER")).toEqual([0, 0]);
      });

      it("counts disabled keys against the limit, created or updated so", async () => {
        const org = newId("org");
        const limits = { organizationMax: 2, userMax: 5 };
        const [key] = await createdKeys(1, () => aKey(org), limits);
        await created(aKey(org, { isActive: false }), limits);
        await store.keys.update(org, key!.id, { isActive: false, updatedAt: T1 }, limits);
        expect(await store.keys.create(aKey(org), limits)).toEqual(refused("organization_limit"));
        expect(await slotsHeld(org)).toEqual([2]);
      });

      it("frees a slot on revoke, once however often it is revoked", async () => {
        const org = newId("org");
        const limits = { organizationMax: 2, userMax: 2 };
        const [key] = await createdKeys(2, () => aKey(org), limits);
        await store.keys.revoke(org, key!.id, T1);
        await store.keys.revoke(org, key!.id, T2);
        expect(await slotsHeld(org, key!.ownerUserId)).toEqual([1, 1]);
        await created(aKey(org), limits);
        expect(await store.keys.create(aKey(org), limits)).toEqual(refused("organization_limit"));
      });

      it("frees a slot on delete, but not again for a key already revoked", async () => {
        const org = newId("org");
        const limits = { organizationMax: 2, userMax: 2 };
        const [revoked, deleted] = await createdKeys(2, () => aKey(org), limits);
        await store.keys.revoke(org, revoked!.id, T1);
        await store.keys.delete(org, revoked!.id);
        expect(await slotsHeld(org, "user_OWNER")).toEqual([1, 1]);
        await store.keys.delete(org, deleted!.id);
        expect(await slotsHeld(org, "user_OWNER")).toEqual([0, 0]);
        await createdKeys(2, () => aKey(org), limits);
        expect(await store.keys.create(aKey(org), limits)).toEqual(refused("organization_limit"));
      });

      it("moves the slot when the owner changes, refusing an owner who is full", async () => {
        const org = newId("org");
        const [alice, bob, carol] = [newId("user"), newId("user"), newId("user")];
        const limits = { organizationMax: 10, userMax: 2 };
        const key = await created(aKey(org, { ownerUserId: alice }), limits);
        await createdKeys(2, () => aKey(org, { ownerUserId: bob }), limits);
        expect(await store.keys.update(org, key.id, { ownerUserId: bob, name: "x", updatedAt: T1 }, limits)).toEqual({
          ok: false,
          reason: "user_limit",
        });
        expect(await store.keys.findById(org, key.id)).toStrictEqual(key);
        expect(await slotsHeld(org, alice, bob, carol)).toEqual([3, 1, 2, 0]);
        expect(await store.keys.update(org, key.id, { ownerUserId: carol, updatedAt: T1 }, limits)).toStrictEqual({
          ok: true,
          key: { ...key, ownerUserId: carol, updatedAt: T1 },
        });
        expect(await slotsHeld(org, alice, bob, carol)).toEqual([3, 0, 2, 1]);
      });

      it("needs no free slot when the patch names the current owner", async () => {
        const org = newId("org");
        const owner = newId("user");
        const limits = { organizationMax: 10, userMax: 2 };
        const [key] = await createdKeys(2, () => aKey(org, { ownerUserId: owner }), limits);
        expect(await store.keys.update(org, key!.id, { ownerUserId: owner, updatedAt: T1 }, limits)).toStrictEqual({
          ok: true,
          key: { ...key!, updatedAt: T1 },
        });
        expect(await slotsHeld(org, owner)).toEqual([2, 2]);
      });

      it("gives the organization's last slot to exactly one of 20 concurrent creates", async () => {
        const org = newId("org");
        const limits = { organizationMax: 5, userMax: 100 };
        await createdKeys(4, () => aKey(org, { ownerUserId: newId("user") }), limits);
        const racers = Array.from({ length: 20 }, () => aKey(org, { ownerUserId: newId("user") }));
        const outcomes = await Promise.all(racers.map((key) => store.keys.create(key, limits)));
        const winners = racers.filter((_, i) => outcomes[i]!.ok);
        expect(winners).toHaveLength(1);
        expect(outcomes.filter((outcome) => !outcome.ok)).toEqual(Array(19).fill(refused("organization_limit")));
        expect(await slotsHeld(org, winners[0]!.ownerUserId)).toEqual([5, 1]);
        expect(await store.keys.countByState(org)).toEqual({ total: 5, active: 5 });
      });

      it("gives a user's last slot to exactly one of 20 concurrent creates", async () => {
        const org = newId("org");
        const owner = newId("user");
        const limits = { organizationMax: 100, userMax: 3 };
        await createdKeys(2, () => aKey(org, { ownerUserId: owner }), limits);
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, () => store.keys.create(aKey(org, { ownerUserId: owner }), limits)),
        );
        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
        expect(outcomes.filter((outcome) => !outcome.ok)).toEqual(Array(19).fill(refused("user_limit")));
        expect(await slotsHeld(org, owner)).toEqual([3, 3]);
        expect(await store.keys.countByState(org)).toEqual({ total: 3, active: 3 });
      });

      it("gives a new owner's last slot to exactly one of 10 concurrent owner changes", async () => {
        const org = newId("org");
        const [alice, bob] = [newId("user"), newId("user")];
        const limits = { organizationMax: 100, userMax: 10 };
        await createdKeys(9, () => aKey(org, { ownerUserId: bob }), limits);
        const alices = await createdKeys(10, () => aKey(org, { ownerUserId: alice }), limits);
        const outcomes = await Promise.all(
          alices.map((key) => store.keys.update(org, key.id, { ownerUserId: bob, updatedAt: T1 }, limits)),
        );
        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
        expect(outcomes.filter((outcome) => !outcome.ok)).toEqual(Array(9).fill({ ok: false, reason: "user_limit" }));
        expect(await slotsHeld(org, alice, bob)).toEqual([19, 9, 10]);
      });

      it("keeps the slot counts equal to the keys holding slots after concurrent churn", async () => {
        const org = newId("org");
        const [alice, bob, carol] = [newId("user"), newId("user"), newId("user")];
        const keys = await createdKeys(12, () => aKey(org, { ownerUserId: alice }));
        const revokes = [0, 1, 2, 3].flatMap((i) => [T1, T2].map((at) => store.keys.revoke(org, keys[i]!.id, at)));
        await Promise.all([
          ...revokes,
          ...[3, 4, 5].map((i) => store.keys.delete(org, keys[i]!.id)),
          ...[5, 6, 7].map((i) => store.keys.update(org, keys[i]!.id, { ownerUserId: bob, updatedAt: T1 }, ROOMY)),
          ...[7, 8].map((i) => store.keys.update(org, keys[i]!.id, { ownerUserId: carol, updatedAt: T1 }, ROOMY)),
          ...[0, 1, 2].map(() => store.keys.create(aKey(org, { ownerUserId: carol }), ROOMY)),
        ]);
        // Two revokes of one key agree on when it was revoked.
        const revoked = await Promise.all(revokes);
        for (let i = 0; i < revoked.length; i += 2) {
          if (revoked[i] && revoked[i + 1]) expect(revoked[i]!.revokedAt).toEqual(revoked[i + 1]!.revokedAt);
        }
        const holding = (await store.keys.list(org, { limit: 100 })).filter((key) => key.revokedAt === null);
        const owned = (owner: string) => holding.filter((key) => key.ownerUserId === owner).length;
        expect(await slotsHeld(org, alice, bob, carol)).toEqual([holding.length, owned(alice), owned(bob), owned(carol)]);
        expect(holding.length).toBe(9);
      });
    });

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

    describe("organizations", () => {
      const anOrganization = (): Organization => ({
        id: newId("org"),
        name: "Acme Robotics",
        plan: "team",
        createdAt: T0,
      });

      it("creates, finds and counts organizations", async () => {
        const before = await store.organizations.count();
        const organizations = [anOrganization(), anOrganization(), { ...anOrganization(), plan: "enterprise" }];
        for (const organization of organizations) await store.organizations.create(organization);
        expect(await store.organizations.count()).toBe(before + 3);
        for (const organization of organizations) {
          expect(await store.organizations.findById(organization.id)).toStrictEqual(organization);
        }
        expect(await store.organizations.findById(newId("org"))).toBeNull();
      });

      it("rejects a duplicate id", async () => {
        const organization = anOrganization();
        await store.organizations.create(organization);
        const before = await store.organizations.count();
        await expect(store.organizations.create({ ...organization, name: "Impostor" })).rejects.toThrow(/duplicate/);
        expect(await store.organizations.count()).toBe(before);
        expect(await store.organizations.findById(organization.id)).toStrictEqual(organization);
      });
    });

    describe("users", () => {
      const aUser = (organizationId: string, id = newId("user")): User => ({
        id,
        organizationId,
        name: "Ada",
        role: "member",
        createdAt: T0,
      });

      it("creates and finds users within their organization", async () => {
        const org = newId("org");
        const user = { ...aUser(org), role: "owner" as const };
        await store.users.create(user);
        expect(await store.users.findById(org, user.id)).toStrictEqual(user);
        expect(await store.users.findById(newId("org"), user.id)).toBeNull();
        expect(await store.users.findById(org, newId("user"))).toBeNull();
      });

      it("lists an organization's users in id order, and only them", async () => {
        const org = newId("org");
        const [first, second, third] = [newId("user"), newId("user"), newId("user")];
        const users = [aUser(org, third), aUser(org, first), { ...aUser(org, second), role: "admin" as const }];
        for (const user of users) await store.users.create(user);
        await store.users.create(aUser(newId("org")));
        expect(await store.users.listByOrganization(org)).toStrictEqual([users[1], users[2], users[0]]);
        expect(await store.users.listByOrganization(newId("org"))).toEqual([]);
      });

      it("rejects a duplicate id", async () => {
        const org = newId("org");
        const user = aUser(org);
        await store.users.create(user);
        await expect(store.users.create({ ...user, name: "Impostor" })).rejects.toThrow(/duplicate/);
        expect(await store.users.listByOrganization(org)).toStrictEqual([user]);
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

    describe("keys: bound to their owner's limits", () => {
      const bound = { scopes: ["machines:read", "tags:read"], maxPerMinute: 120 };

      it("takes off scopes outside the bound and lowers rates above it (or none) to it, only for that owner's live keys", async () => {
        const org = newId("org");
        const [alice, bob] = [newId("user"), newId("user")];
        const mine = (fields: Partial<KeyRecord>) => created(aKey(org, { ownerUserId: alice, ...fields }));
        const wide = await mine({ scopes: ["tags:read", "data:export", "machines:read"], rateLimit: { limit: 100, period: "minute" } });
        const unlimited = await mine({ scopes: ["tags:read"], rateLimit: null });
        const fast = await mine({ scopes: ["machines:read"], rateLimit: { limit: 3, period: "second" } });
        const both = await mine({ scopes: ["admin:write"], rateLimit: { limit: 1_000_000, period: "day" } });
        const within = await mine({ scopes: ["machines:read"], rateLimit: { limit: 2, period: "second" } });
        const revoked = await mine({ scopes: ["data:export"], rateLimit: null });
        await store.keys.revoke(org, revoked.id, T1);
        const bobs = await created(aKey(org, { ownerUserId: bob, scopes: ["data:export"] }));
        const elsewhere = await created(aKey(newId("org"), { ownerUserId: alice, scopes: ["data:export"] }));

        const changed = await store.keys.boundKeysOfOwner(org, alice, bound, T2);
        const perMinute = { limit: 120, period: "minute" };
        expect(changed).toStrictEqual([
          { ...wide, scopes: ["tags:read", "machines:read"], updatedAt: T2 },
          { ...unlimited, rateLimit: perMinute, updatedAt: T2 },
          { ...fast, rateLimit: perMinute, updatedAt: T2 },
          { ...both, scopes: [], rateLimit: perMinute, updatedAt: T2 },
        ]);
        for (const key of changed) expect(await store.keys.findById(org, key.id)).toStrictEqual(key);
        expect(await store.keys.findById(org, within.id)).toStrictEqual(within);
        expect((await store.keys.findById(org, revoked.id))!.scopes).toEqual(["data:export"]);
        expect(await store.keys.findById(org, bobs.id)).toStrictEqual(bobs);
        expect(await store.keys.findById(elsewhere.organizationId, elsewhere.id)).toStrictEqual(elsewhere);
        // Within the bound now: a second call changes nothing.
        expect(await store.keys.boundKeysOfOwner(org, alice, bound, T2)).toEqual([]);
      });

      it("keeps a key exactly at the bound, in any period, and keeps slots as they were", async () => {
        const org = newId("org");
        const alice = newId("user");
        const atBound = await created(aKey(org, { ownerUserId: alice, rateLimit: { limit: 7200, period: "hour" } }));
        const justAbove = await created(aKey(org, { ownerUserId: alice, rateLimit: { limit: 172_801, period: "day" } }));
        const slots = await slotsHeld(org, alice);
        const changed = await store.keys.boundKeysOfOwner(org, alice, bound, T2);
        expect(changed.map((key) => key.id)).toEqual([justAbove.id]);
        expect(await store.keys.findById(org, atBound.id)).toStrictEqual(atBound);
        expect(await slotsHeld(org, alice)).toEqual(slots);
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

    describe("organizations: plan and kind", () => {
      it("keeps the platform kind and changes the plan", async () => {
        const platform: Organization = { id: newId("org"), name: "operators", plan: "pro", createdAt: T0, kind: "platform" };
        await store.organizations.create(platform);
        expect(await store.organizations.findById(platform.id)).toStrictEqual(platform);
        const tenant: Organization = { id: newId("org"), name: "Acme", plan: "free", createdAt: T0 };
        await store.organizations.create(tenant);
        expect(await store.organizations.setPlan(tenant.id, "enterprise")).toStrictEqual({ ...tenant, plan: "enterprise" });
        expect(await store.organizations.findById(tenant.id)).toStrictEqual({ ...tenant, plan: "enterprise" });
        expect(await store.organizations.setPlan(newId("org"), "pro")).toBeNull();
      });
    });

    describe("users: update and remove", () => {
      const aUser = (organizationId: string, fields: Partial<User> = {}): User => ({
        id: newId("user"),
        organizationId,
        name: "Grace",
        role: "member",
        createdAt: T0,
        ...fields,
      });

      async function users(organizationId: string, ...fields: Partial<User>[]): Promise<User[]> {
        const made = fields.map((f) => aUser(organizationId, f));
        for (const user of made) await store.users.create(user);
        return made;
      }

      it("keeps per-user limits exactly, and sets or clears each one alone", async () => {
        const org = newId("org");
        const [user] = await users(org, { limits: { maxKeys: 3, availableScopes: ["machines:read"], canCreateAdminKeys: false } });
        expect(await store.users.findById(org, user!.id)).toStrictEqual(user);
        const outcome = await store.users.update(org, user!.id, {
          name: "Grace H.",
          limits: { maxKeys: null, maxRateLimitPerMinute: 120, canCreateAdminKeys: undefined },
        });
        const expected = { ...user!, name: "Grace H.", limits: { availableScopes: ["machines:read"], canCreateAdminKeys: false, maxRateLimitPerMinute: 120 } };
        expect(outcome).toStrictEqual({ ok: true, user: expected });
        expect(await store.users.findById(org, user!.id)).toStrictEqual(expected);
        const cleared = await store.users.update(org, user!.id, {
          limits: { availableScopes: null, canCreateAdminKeys: null, maxRateLimitPerMinute: null },
        });
        expect(cleared).toStrictEqual({ ok: true, user: { ...user!, name: "Grace H.", limits: {} } });
      });

      it("an empty patch or clearing limits a user never had changes nothing", async () => {
        const org = newId("org");
        const [user] = await users(org, {});
        expect(await store.users.update(org, user!.id, {})).toStrictEqual({ ok: true, user });
        expect(await store.users.update(org, user!.id, { limits: { maxKeys: null } })).toStrictEqual({ ok: true, user });
        expect(await store.users.findById(org, user!.id)).toStrictEqual(user);
      });

      it("changes roles, but never takes the owner role from the last owner", async () => {
        const org = newId("org");
        const [owner, admin] = await users(org, { role: "owner" }, { role: "admin" });
        expect(await store.users.update(org, owner!.id, { role: "admin", name: "x" })).toEqual({ ok: false, reason: "last_owner" });
        expect(await store.users.findById(org, owner!.id)).toStrictEqual(owner);
        expect(await store.users.update(org, admin!.id, { role: "owner" })).toStrictEqual({ ok: true, user: { ...admin!, role: "owner" } });
        expect(await store.users.update(org, owner!.id, { role: "member" })).toStrictEqual({ ok: true, user: { ...owner!, role: "member" } });
        expect(await store.users.update(org, admin!.id, { role: "member" })).toEqual({ ok: false, reason: "last_owner" });
        expect(await store.users.update(org, admin!.id, { role: "owner", name: "still owner" })).toMatchObject({ ok: true });
      });

      it("removes a user and returns what it was, but never the last owner", async () => {
        const org = newId("org");
        const [owner, member, second] = await users(org, { role: "owner" }, {}, { role: "owner" });
        expect(await store.users.remove(org, member!.id)).toStrictEqual({ ok: true, user: member });
        expect(await store.users.findById(org, member!.id)).toBeNull();
        expect(await store.users.remove(org, member!.id)).toEqual({ ok: false, reason: "not_found" });
        expect(await store.users.remove(org, owner!.id)).toStrictEqual({ ok: true, user: owner });
        expect(await store.users.remove(org, second!.id)).toEqual({ ok: false, reason: "last_owner" });
        expect(await store.users.listByOrganization(org)).toStrictEqual([second]);
      });

      it("keeps one owner when the last two are removed or demoted at the same time", async () => {
        for (const change of ["remove", "demote"] as const) {
          const org = newId("org");
          const owners = await users(org, { role: "owner" }, { role: "owner" }, { role: "owner" });
          const outcomes = await Promise.all(
            owners.map((owner) =>
              change === "remove" ? store.users.remove(org, owner.id) : store.users.update(org, owner.id, { role: "admin" }),
            ),
          );
          expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(2);
          expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([{ ok: false, reason: "last_owner" }]);
          const remaining = (await store.users.listByOrganization(org)).filter((user) => user.role === "owner");
          expect(remaining).toHaveLength(1);
        }
      });

      it("counts an owner promoted or added later, so the first can then go", async () => {
        const org = newId("org");
        const [first, member] = await users(org, { role: "owner" }, {});
        expect(await store.users.remove(org, first!.id)).toEqual({ ok: false, reason: "last_owner" });
        await store.users.update(org, member!.id, { role: "owner" });
        const [added] = await users(org, { role: "owner" });
        expect(await store.users.remove(org, first!.id)).toMatchObject({ ok: true });
        expect(await store.users.remove(org, member!.id)).toMatchObject({ ok: true });
        expect(await store.users.remove(org, added!.id)).toEqual({ ok: false, reason: "last_owner" });
      });

      it("never reaches a user through another organization", async () => {
        const org = newId("org");
        const [owner, member] = await users(org, { role: "owner" }, {});
        const other = newId("org");
        expect(await store.users.update(other, member!.id, { name: "stolen" })).toEqual({ ok: false, reason: "not_found" });
        expect(await store.users.remove(other, owner!.id)).toEqual({ ok: false, reason: "not_found" });
        expect(await store.users.listByOrganization(org)).toStrictEqual([owner, member]);
      });

      it("pages an organization's users after a cursor", async () => {
        const org = newId("org");
        const made = await users(org, { role: "owner" }, {}, {}, {}, {});
        expect(await store.users.listByOrganization(org, { limit: 2 })).toStrictEqual(made.slice(0, 2));
        expect(await store.users.listByOrganization(org, { afterId: made[1]!.id, limit: 2 })).toStrictEqual(made.slice(2, 4));
        expect(await store.users.listByOrganization(org, { afterId: made[4]!.id })).toEqual([]);
      });
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

      it("keeps organizations apart", async () => {
        const { keyA } = await appendedEvents();
        const other = newId("org");
        expect(await store.audit.list(other, { limit: 100 })).toEqual([]);
        expect(await store.audit.list(other, { keyId: keyA, limit: 100 })).toEqual([]);
      });
    });

    describe("rate-limit counters", () => {
      // Slot starts far in the future of the expiry times used elsewhere: nothing here has expired.
      const slotAt = (minute: number) => Date.UTC(2031, 2, 2, 11, minute);
      const increment = (bucket: string, minute: number, count: number) => ({
        bucket,
        slotStartMs: slotAt(minute),
        count,
        expiresAtMs: slotAt(minute) + 3_600_000,
      });
      const sorted = (counts: { bucket: string; slotStartMs: number; count: number }[]) =>
        [...counts].sort((x, y) => x.bucket.localeCompare(y.bucket) || x.slotStartMs - y.slotStartMs);

      it("adds increments per bucket and slot, and reads each bucket's slots since its start", async () => {
        const [a, b] = [`key/${newId("key")}/minute`, `org/${newId("org")}`];
        await store.rateLimitCounters.add([increment(a, 1, 3), increment(a, 2, 1), increment(b, 1, 7)]);
        await store.rateLimitCounters.add([increment(a, 1, 2), increment(b, 3, 1)]);
        expect(sorted(await store.rateLimitCounters.read([{ bucket: a, sinceMs: slotAt(0) }]))).toEqual([
          { bucket: a, slotStartMs: slotAt(1), count: 5 },
          { bucket: a, slotStartMs: slotAt(2), count: 1 },
        ]);
        expect(sorted(await store.rateLimitCounters.read([{ bucket: a, sinceMs: slotAt(2) }, { bucket: b, sinceMs: slotAt(1) }]))).toEqual([
          { bucket: a, slotStartMs: slotAt(2), count: 1 },
          { bucket: b, slotStartMs: slotAt(1), count: 7 },
          { bucket: b, slotStartMs: slotAt(3), count: 1 },
        ]);
        // Buckets sharing a start, and one that does not.
        expect(sorted(await store.rateLimitCounters.read([{ bucket: a, sinceMs: slotAt(2) }, { bucket: b, sinceMs: slotAt(2) }, { bucket: `org/${newId("org")}`, sinceMs: 0 }]))).toEqual([
          { bucket: a, slotStartMs: slotAt(2), count: 1 },
          { bucket: b, slotStartMs: slotAt(3), count: 1 },
        ]);
        expect(await store.rateLimitCounters.read([{ bucket: `key/${newId("key")}/minute`, sinceMs: 0 }])).toEqual([]);
        expect(await store.rateLimitCounters.read([])).toEqual([]);
        await store.rateLimitCounters.add([]);
      });

      it("concurrent increments of one slot all count (replicas pushing at once)", async () => {
        const bucket = `key/${newId("key")}/minute`;
        await Promise.all(Array.from({ length: 20 }, () => store.rateLimitCounters.add([increment(bucket, 4, 1)])));
        expect(await store.rateLimitCounters.read([{ bucket, sinceMs: 0 }])).toEqual([{ bucket, slotStartMs: slotAt(4), count: 20 }]);
      });
    });
    describeUsageContract(() => store);
  });
}
