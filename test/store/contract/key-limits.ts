import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { KeyRecord } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { aKey } from "../../support/records.js";
import { keysThrough, refused, ROOMY, T1, T2 } from "./fixtures.js";

/** Keys: counts by state, the slots organizations and owners hold under their limits, also under races, and keys bound to their owner's limits. */
export function describeKeyLimitsContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created, createdKeys, slotsHeld } = keysThrough(() => store);

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

    it("lowers named limits above the bound to it per minute, under their names, and keeps those within it", async () => {
      const org = newId("org");
      const alice = newId("user");
      const rate = { limit: 60, period: "minute" as const };
      const named = await created(
        aKey(org, {
          ownerUserId: alice,
          scopes: ["machines:read"],
          rateLimit: rate,
          limits: [
            { name: "burst", limit: 3, period: "second" },
            { name: "steady", limit: 7200, period: "hour" },
          ],
        }),
      );
      const quiet = await created(aKey(org, { ownerUserId: alice, scopes: ["machines:read"], rateLimit: rate, limits: [{ name: "daily", limit: 1000, period: "day" }] }));
      const changed = await store.keys.boundKeysOfOwner(org, alice, bound, T2);
      const lowered = { ...named, limits: [{ name: "burst", limit: 120, period: "minute" }, named.limits![1]], updatedAt: T2 };
      expect(changed).toStrictEqual([lowered]);
      expect(await store.keys.findById(org, named.id)).toStrictEqual(lowered);
      expect(await store.keys.findById(org, quiet.id)).toStrictEqual(quiet);
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
}
