import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freshMongoStore, type FreshMongoStore } from "../../support/mongo.js";
import { DAY_MS, schedulerWorld } from "./scheduler-world.js";

/**
 * The scheduler on MongoDB, where replicas really race: two passes at once queue each derived
 * event once (the store's upsert by id), and two sweeps at once disable each unused key once (the
 * second transaction finds the key changed and writes nothing).
 */

const START = Date.UTC(2031, 2, 1, 12);
let mongo: FreshMongoStore;
let world: ReturnType<typeof schedulerWorld>;

beforeAll(async () => {
  mongo = await freshMongoStore();
});

afterAll(async () => {
  await mongo?.cleanup();
});

afterEach(async () => {
  await world.close();
});

describe("the webhook scheduler on MongoDB", () => {
  it("queues key.expiring and key.expired once when two replicas pass at once", async () => {
    world = schedulerWorld(START, { store: mongo.store });
    const organizationId = await world.organization();
    const key = await world.key(organizationId, { expiresAt: new Date(START + 2 * DAY_MS) });
    const [a, b] = [world.replica(), world.replica()];
    await Promise.all([a.scheduler.runOnce(), b.scheduler.runOnce()]);
    world.clock.advance(3 * DAY_MS);
    await Promise.all([a.scheduler.runOnce(), b.scheduler.runOnce()]);
    await Promise.all([a.scheduler.runOnce(), b.scheduler.runOnce()]);
    const events = await world.events(organizationId);
    expect(events.map((event) => [event.type, (event.data["key"] as { id: string }).id])).toEqual([
      ["key.expiring", key.id],
      ["key.expired", key.id],
    ]);
  });

  it("disables an unused key once when two replicas sweep at once", async () => {
    world = schedulerWorld(START, { store: mongo.store });
    const organizationId = await world.organization({ disableUnusedKeysAfterDays: 30 });
    const unused = await world.key(organizationId);
    const [a, b] = [world.replica(), world.replica()];
    world.clock.advance(31 * DAY_MS);
    await Promise.all([a.scheduler.runOnce(), b.scheduler.runOnce()]);
    expect((await world.store.keys.findById(organizationId, unused.id))!.isActive).toBe(false);
    expect((await world.events(organizationId, "key.updated")).map((event) => (event.data["key"] as { id: string }).id)).toEqual([unused.id]);
    expect((await world.store.audit.list(organizationId, { limit: 10 })).map((entry) => entry.keyId)).toEqual([unused.id]);
    expect(world.announced.map(({ key }) => key!.id)).toEqual([unused.id]);
  });
});
