import { beforeAll, describe, expect, it, type TestContext } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { User } from "../../../src/model/records.js";
import type { CounterId, CounterRepair } from "../../../src/store/counter-repair.js";
import type { Store } from "../../../src/store/store.js";
import { aKey, T0 } from "../../support/records.js";
import { keysThrough, refused, T1 } from "./fixtures.js";

/**
 * Writes a stored counter directly, as a failover can leave it. Given only for a store whose
 * counters are kept apart from what they count (MongoDB); the tests that need it are skipped for
 * the others.
 */
export type WriteCounter = (counter: CounterId, value: number) => Promise<void>;

/**
 * repairCounters: counters the store's own writes kept are found right; counters written wrong
 * behind the store's back are set to what the keys and users hold, each reported, and then bound
 * keys and owners as they should.
 */
export function describeCounterRepairContract(getStore: () => Store, getWriteCounter: () => WriteCounter | undefined): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });
  const { created, createdKeys, slotsHeld } = keysThrough(() => store);

  /** The repair's corrections in one organization (other tests' organizations share the store). */
  const repairedIn = async (organizationId: string): Promise<CounterRepair["corrections"]> =>
    (await store.repairCounters()).corrections.filter((correction) => correction.organizationId === organizationId);

  const writeCounterOrSkip = (context: TestContext): WriteCounter => {
    const write = getWriteCounter();
    if (write === undefined) context.skip("this store keeps no counter apart from what it counts");
    return write!;
  };

  const anOwner = (organizationId: string): User => ({ id: newId("user"), organizationId, name: "Ada", role: "owner", createdAt: T0 });

  describe("counter repair", () => {
    it("finds nothing wrong in counters the store's own writes kept", async () => {
      const org = newId("org");
      const [alice, bob] = [newId("user"), newId("user")];
      const keys = await createdKeys(4, () => aKey(org, { ownerUserId: alice }));
      await createdKeys(2, () => aKey(org, { ownerUserId: bob }));
      await store.keys.revoke(org, keys[0]!.id, T1);
      await store.keys.delete(org, keys[1]!.id);
      await store.keys.update(org, keys[2]!.id, { ownerUserId: bob, updatedAt: T1 }, { organizationMax: 10, userMax: 10 });
      for (const owner of [anOwner(org), anOwner(org)]) await store.users.create(owner);
      expect(await repairedIn(org)).toEqual([]);
      expect(await slotsHeld(org, alice, bob)).toEqual([4, 1, 3]);
    });

    it("sets key slot counters to the keys that hold slots, reporting each that was wrong and by how much", async (context) => {
      const write = writeCounterOrSkip(context);
      const org = newId("org");
      // Ids in creation order, so the report's order (organization, then users by id) is known.
      const [alice, bob, carol] = [newId("user"), newId("user"), newId("user")];
      const [revoked] = await createdKeys(3, () => aKey(org, { ownerUserId: alice }));
      await store.keys.revoke(org, revoked!.id, T1);
      await createdKeys(2, () => aKey(org, { ownerUserId: bob }));
      // As the failover runs left them: the organization +25, a user +9, one too low,
      // and a counter for a user who holds no key.
      await write({ counter: "key_slots", organizationId: org }, 4 + 25);
      await write({ counter: "key_slots", organizationId: org, userId: alice }, 2 + 9);
      await write({ counter: "key_slots", organizationId: org, userId: bob }, 1);
      await write({ counter: "key_slots", organizationId: org, userId: carol }, 3);

      expect(await repairedIn(org)).toEqual([
        { counter: "key_slots", organizationId: org, was: 29, now: 4 },
        { counter: "key_slots", organizationId: org, userId: alice, was: 11, now: 2 },
        { counter: "key_slots", organizationId: org, userId: bob, was: 1, now: 2 },
        { counter: "key_slots", organizationId: org, userId: carol, was: 3, now: 0 },
      ]);
      expect(await slotsHeld(org, alice, bob, carol)).toEqual([4, 2, 2, 0]);
      expect(await repairedIn(org)).toEqual([]);
    });

    it("lets a repaired organization counter bound keys again: up to the limit, then one more refused", async (context) => {
      const write = writeCounterOrSkip(context);
      const org = newId("org");
      const limits = { organizationMax: 5, userMax: 100 };
      await createdKeys(3, () => aKey(org, { ownerUserId: newId("user") }), limits);
      await write({ counter: "key_slots", organizationId: org }, 3 + 25);
      expect(await store.keys.create(aKey(org), limits)).toEqual(refused("organization_limit"));

      await store.repairCounters();
      await createdKeys(2, () => aKey(org, { ownerUserId: newId("user") }), limits);
      expect(await store.keys.create(aKey(org), limits)).toEqual(refused("organization_limit"));
      expect(await slotsHeld(org)).toEqual([5]);
    });

    it("lets a repaired user counter that was too low bound that user's keys again", async (context) => {
      const write = writeCounterOrSkip(context);
      const org = newId("org");
      const owner = newId("user");
      const limits = { organizationMax: 100, userMax: 3 };
      await createdKeys(2, () => aKey(org, { ownerUserId: owner }), limits);
      // Too low lets keys past the limit: the direction that matters most.
      await write({ counter: "key_slots", organizationId: org, userId: owner }, 0);

      expect(await repairedIn(org)).toEqual([{ counter: "key_slots", organizationId: org, userId: owner, was: 0, now: 2 }]);
      await created(aKey(org, { ownerUserId: owner }), limits);
      expect(await store.keys.create(aKey(org, { ownerUserId: owner }), limits)).toEqual(refused("user_limit"));
      expect(await slotsHeld(org, owner)).toEqual([3, 3]);
    });

    it("deletes the counters of an organization that holds no key", async (context) => {
      const write = writeCounterOrSkip(context);
      const org = newId("org");
      const user = newId("user");
      await write({ counter: "key_slots", organizationId: org }, 7);
      await write({ counter: "key_slots", organizationId: org, userId: user }, 2);

      expect(await repairedIn(org)).toEqual([
        { counter: "key_slots", organizationId: org, was: 7, now: 0 },
        { counter: "key_slots", organizationId: org, userId: user, was: 2, now: 0 },
      ]);
      expect(await slotsHeld(org, user)).toEqual([0, 0]);
      await createdKeys(1, () => aKey(org, { ownerUserId: user }), { organizationMax: 1, userMax: 1 });
      expect(await slotsHeld(org, user)).toEqual([1, 1]);
    });

    it("sets an owner counter to the owners, so the last owner cannot be removed", async (context) => {
      const write = writeCounterOrSkip(context);
      const org = newId("org");
      const [first, second] = [anOwner(org), anOwner(org)];
      for (const owner of [first, second]) await store.users.create(owner);
      // Too high would let both owners go.
      await write({ counter: "owners", organizationId: org }, 5);

      expect(await repairedIn(org)).toEqual([{ counter: "owners", organizationId: org, was: 5, now: 2 }]);
      expect(await store.users.remove(org, first.id)).toMatchObject({ ok: true });
      expect(await store.users.remove(org, second.id)).toEqual({ ok: false, reason: "last_owner" });
    });
  });
}
