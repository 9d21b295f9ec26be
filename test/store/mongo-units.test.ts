import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";
import { StoreUnavailableError } from "../../src/store/errors.js";
import { RaceLost } from "../../src/store/mongo/mongo-errors.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aFullKey, aKey, T0 } from "../support/records.js";

/**
 * On a replica set (the run's shared mongod), a unit of work is a transaction: the change, the
 * slot counters it moves and the change-log entry other replicas follow commit together or not
 * at all. The entry carries the key as it is after the change, never its sealed secret.
 */
const ROOMY = { organizationMax: 100, userMax: 100 };

describe("MongoDB units of work on a replica set", () => {
  let fresh: FreshMongoStore;
  beforeAll(async () => {
    fresh = await freshMongoStore();
  });
  afterAll(async () => {
    await fresh?.cleanup();
  });

  const entriesFor = (hash: string) => fresh.db.collection(COLLECTIONS.keyChanges).find({ hashes: hash }).toArray();

  it("a revoke commits with its change-log entry, which carries the key as revoked and no sealed secret", async () => {
    const key = aFullKey(newId("org"));
    expect((await fresh.store.keys.create(key, ROOMY)).ok).toBe(true);
    const revoked = await fresh.store.keys.revoke(key.organizationId, key.id, T0);
    const [entry, ...more] = await entriesFor(key.secretHash);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ origin: fresh.store.changes.origin, kind: "key", hashes: [key.secretHash] });
    expect(entry!["key"]).toMatchObject({ _id: key.id, revokedAt: revoked!.revokedAt });
    expect(entry!["key"]).not.toHaveProperty("encryptedSecret");
  });

  it("a unit that fails after a revoke leaves no revoke, no entry and the slots as they were", async () => {
    const key = aKey(newId("org"));
    await fresh.store.keys.create(key, ROOMY);
    await expect(
      fresh.store.atomically(async () => {
        await fresh.store.keys.revoke(key.organizationId, key.id, T0);
        throw new Error("the handler refused after the write");
      }),
    ).rejects.toThrow("the handler refused");
    expect((await fresh.store.keys.findById(key.organizationId, key.id))?.revokedAt).toBeNull();
    expect(await entriesFor(key.secretHash)).toEqual([]);
    expect(await fresh.store.keys.countHoldingSlots(key.organizationId)).toBe(1);
  });

  it("effects queued in a unit run only once it has committed", async () => {
    const key = aKey(newId("org"));
    await fresh.store.keys.create(key, ROOMY);
    const seen: string[] = [];
    await fresh.store.atomically(async () => {
      await fresh.store.keys.update(key.organizationId, key.id, { name: "renamed", updatedAt: T0 }, ROOMY);
      fresh.store.afterCommit(() => seen.push("announced"));
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual(["announced"]);
    const [entry] = await entriesFor(key.secretHash);
    expect(entry!["key"]).toMatchObject({ name: "renamed" });
  });

  it("a deleted key's entry says it is gone; a plan change has an entry of its own", async () => {
    const key = aKey(newId("org"));
    await fresh.store.keys.create(key, ROOMY);
    await fresh.store.keys.delete(key.organizationId, key.id);
    expect((await entriesFor(key.secretHash)).map((entry) => entry["key"])).toEqual([null]);
    const organization = { id: newId("org"), name: "Plan Co", plan: "free", createdAt: T0 };
    await fresh.store.organizations.create(organization);
    await fresh.store.organizations.setPlan(organization.id, "pro");
    const planEntries = await fresh.db.collection(COLLECTIONS.keyChanges).find({ organizationId: organization.id }).toArray();
    expect(planEntries.map((entry) => entry["kind"])).toEqual(["organization"]);
  });

  it("concurrent units creating keys at the limit: exactly the limit commit, the counter equals the keys", async () => {
    const org = newId("org");
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => fresh.store.keys.create(aKey(org), { organizationMax: 3, userMax: 3 })));
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(3);
    expect(await fresh.store.keys.countHoldingSlots(org)).toBe(3);
    expect((await fresh.store.keys.list(org, { limit: 10 })).length).toBe(3);
  });

  it("a unit that keeps losing races is tried again until its caller gives up (the RPC's deadline), not for the whole write wait", async () => {
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 300);
    let attempts = 0;
    const started = performance.now();
    await expect(
      fresh.store.atomically(async () => {
        attempts++;
        await fresh.store.keys.findById(newId("org"), newId("key"));
        throw new RaceLost("lost again");
      }, caller.signal),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(attempts).toBeGreaterThan(1);
    // The write wait is 15 s: stopping well before it is the caller's signal at work.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
