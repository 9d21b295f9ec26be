import { MongoClient, type CommandStartedEvent, type Db } from "mongodb";
import type { MongoMemoryReplSet } from "mongodb-memory-server-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import type { KeyRecord, User } from "../../src/model/records.js";
import { COLLECTIONS, MongoStore } from "../../src/store/mongo/mongo-store.js";
import { startReplicaSet } from "../support/mongod-launch.js";
import { aKey, T0 } from "../support/records.js";
import { ROOMY, T1 } from "./contract/fixtures.js";
import { counterWriter } from "../support/stored-counters.js";

/**
 * The MongoDB store on a replica set of this file's own (one member, test commands on), for what
 * a standalone mongod cannot show: the ping asks for any member that can serve reads (so an
 * election does not make every replica unready; the three-member election itself is the election
 * suite's), a ping the server never answers is given up at its signal, and the counter repair,
 * one transaction per organization, stays exact while keys and owners change (each change a unit of
 * its own).
 */
const APP = "replica-set-store";

describe("MongoDB store on a replica set", () => {
  let replSet: MongoMemoryReplSet;
  let client: MongoClient;
  let admin: MongoClient;
  let store: MongoStore;
  let db: Db;
  const pings: CommandStartedEvent[] = [];

  beforeAll(async () => {
    replSet = await startReplicaSet({ args: ["--setParameter", "enableTestCommands=1"] });
    client = new MongoClient(replSet.getUri(), { monitorCommands: true, appName: APP });
    client.on("commandStarted", (event) => {
      if (event.commandName === "ping") pings.push(event);
    });
    admin = new MongoClient(replSet.getUri());
    store = new MongoStore(client, "keygate_replica_set");
    await store.init();
    db = client.db("keygate_replica_set");
  });

  afterAll(async () => {
    await store?.close();
    await admin?.close();
    await replSet?.stop();
  });

  it("pings with a read preference any member that can serve reads satisfies, not the primary only", async () => {
    pings.length = 0;
    await expect(store.ping()).resolves.toBeUndefined();
    expect(pings).toHaveLength(1);
    expect(pings[0]!.command["$readPreference"]).toEqual({ mode: "primaryPreferred" });
  });

  it("gives up a ping the server holds once its signal aborts, and pings again at once", async () => {
    const HELD_MS = 8_000;
    await admin.db("admin").command({
      configureFailPoint: "failCommand",
      mode: { times: 1 },
      data: { failCommands: ["ping"], appName: APP, blockConnection: true, blockTimeMS: HELD_MS },
    });
    try {
      const started = performance.now();
      await expect(store.ping(AbortSignal.timeout(300))).rejects.toThrow();
      // Generous for a busy machine, and half what the server holds the ping: it was not waited for.
      expect(performance.now() - started).toBeLessThan(HELD_MS / 2);
      await expect(store.ping(AbortSignal.timeout(HELD_MS / 2))).resolves.toBeUndefined();
    } finally {
      // Waits until the held ping is let go: a fail point is changed only once no operation is in it.
      await admin.db("admin").command({ configureFailPoint: "failCommand", mode: "off" });
    }
  });

  it("repairs counters exactly while keys and owners change", async () => {
    const org = newId("org");
    const [alice, bob, carol] = [newId("user"), newId("user"), newId("user")];
    const keys: KeyRecord[] = [];
    for (let i = 0; i < 12; i++) {
      const key = aKey(org, { ownerUserId: i % 2 === 0 ? alice : bob });
      expect(await store.keys.create(key, ROOMY)).toMatchObject({ ok: true });
      keys.push(key);
    }
    const owner = (): User => ({ id: newId("user"), organizationId: org, name: "Ada", role: "owner", createdAt: T0 });
    const owners = [owner(), owner(), owner()];
    for (const user of owners) await store.users.create(user);
    const write = counterWriter(db);
    await write({ counter: "key_slots", organizationId: org }, 12 + 25);
    await write({ counter: "key_slots", organizationId: org, userId: alice }, 6 + 9);
    // Too high: the direction that would let the last owner go (too low would refuse the churn's
    // removals). Each drift is larger than the churn could hide from the repair's survey.
    await write({ counter: "owners", organizationId: org }, 3 + 4);

    // Each of the store's key and user writes is a unit of work of its own.
    const churn = [
      ...[0, 1, 2].map((i) => store.keys.revoke(org, keys[i]!.id, T1)),
      ...[3, 4].map((i) => store.keys.delete(org, keys[i]!.id)),
      ...[5, 6, 7].map((i) => store.keys.update(org, keys[i]!.id, { ownerUserId: carol, updatedAt: T1 }, ROOMY)),
      ...Array.from({ length: 6 }, (_, i) => store.keys.create(aKey(org, { ownerUserId: [alice, bob, carol][i % 3]! }), ROOMY)),
      store.users.remove(org, owners[0]!.id),
      store.users.update(org, owners[1]!.id, { role: "admin" }),
      store.users.create(owner()),
    ];
    // Repairs one after another for as long as the churn lasts, each after writing a counter for a
    // user who holds no key: the survey then always finds the organization wrong, so every repair
    // recounts it in a transaction while the churn runs.
    const dave = newId("user");
    let churning = true;
    const repairs = (async () => {
      do {
        await write({ counter: "key_slots", organizationId: org, userId: dave }, 3);
        await store.repairCounters();
      } while (churning);
    })();
    await Promise.all(churn).finally(() => (churning = false));
    await repairs;

    const holding = (await store.keys.list(org, { limit: 100 })).filter((key) => key.revokedAt === null);
    const held = (user: string) => holding.filter((key) => key.ownerUserId === user).length;
    const slots = await Promise.all([undefined, alice, bob, carol, dave].map((user) => store.keys.countHoldingSlots(org, user)));
    expect(slots).toEqual([holding.length, held(alice), held(bob), held(carol), 0]);
    expect(holding.length).toBe(12 - 3 - 2 + 6);
    const ownersNow = (await store.users.listByOrganization(org)).filter((user) => user.role === "owner").length;
    expect(ownersNow).toBe(2);
    expect(await db.collection(COLLECTIONS.ownerCounts).findOne({ _id: org as never })).toEqual({ _id: org, owners: ownersNow });
    const again = await store.repairCounters();
    expect(again.corrections.filter((correction) => correction.organizationId === org)).toEqual([]);
  });
});
