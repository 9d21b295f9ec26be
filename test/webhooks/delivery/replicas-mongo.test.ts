import { MongoClient } from "mongodb";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { MongoStore } from "../../../src/store/mongo/mongo-store.js";
import type { Store, WebhookRepository } from "../../../src/store/store.js";
import { freshMongoStore, type FreshMongoStore } from "../../support/mongo.js";
import { DispatcherWorld, ORG } from "./dispatcher-world.js";
import { hmacVerifies } from "./hmac.js";
import { answerStatus, Receiver } from "./receiver.js";

/**
 * Two replicas, each with its own connection to one MongoDB database, delivering from the outbox
 * they share: each delivery goes out once, and what a replica claimed and never recorded (it
 * died) goes out from the other once the claim lapses. MongoDB also interleaves one replica's
 * concurrent store calls, which the memory store, answering at once, never does.
 */
describe("webhook delivery by replicas sharing MongoDB", () => {
  let fresh: FreshMongoStore;
  let other: MongoStore;
  let world: DispatcherWorld;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    fresh = await freshMongoStore();
    other = new MongoStore(new MongoClient(inject("mongoUri")), fresh.db.databaseName);
    await other.init();
  });
  afterAll(async () => {
    await other.close();
    await fresh.cleanup();
  });
  afterEach(async () => {
    await world.stop();
    // One database serves the file: the next test starts with no endpoint (and so nothing queued).
    for (const { id } of await fresh.store.webhooks.listEndpoints(ORG)) await fresh.store.webhooks.deleteEndpoint(ORG, id, new Date());
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  const receiver = async (...answers: Parameters<typeof Receiver.start>) => {
    const started = await Receiver.start(...answers);
    receivers.push(started);
    return started;
  };

  it("delivers each event once when both replicas dispatch at the same time", async () => {
    world = new DispatcherWorld(fresh.store);
    const target = await receiver();
    const { secret } = await world.endpoint(target.url());
    const queued = [];
    for (let i = 0; i < 12; i++) queued.push(...(await world.enqueue()));
    const a = world.dispatcher({}, "replica-a");
    const b = world.dispatcher({}, "replica-b", other);
    a.nudge();
    b.nudge();
    await Promise.all([a.idle(), b.idle()]);

    const ids = target.received.map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(12);
    expect(new Set(ids)).toEqual(new Set(queued.map((d) => d.eventId)));
    for (const got of target.received) expect(hmacVerifies(secret, got.headers, got.body)).toBe(true);
    for (const delivery of queued) expect(await world.delivery(delivery.id)).toMatchObject({ status: "delivered", attempt: 1, claim: null });
  });

  it("retries on the other replica, with the same webhook-id, and delivers what a dead replica claimed once its claim lapses", async () => {
    world = new DispatcherWorld(fresh.store);
    const target = await receiver(answerStatus(500), answerStatus(200));
    await world.endpoint(target.url());
    const [first] = await world.enqueue();
    const a = world.dispatcher({}, "replica-a");
    const b = world.dispatcher({}, "replica-b", other);

    await world.dispatch(a);
    expect(await world.delivery(first!.id)).toMatchObject({ status: "pending", attempt: 1, responseCode: 500 });
    world.clock.set((await world.delivery(first!.id)).nextAttemptAt);
    await world.dispatch(b);
    expect(await world.delivery(first!.id)).toMatchObject({ status: "delivered", attempt: 2 });
    expect(target.received.map((r) => r.headers["webhook-id"])).toEqual([first!.eventId, first!.eventId]);

    // Replica A claims the next one and dies before sending it.
    const [second] = await world.enqueue();
    const now = world.clock.now();
    expect(await fresh.store.webhooks.claimDue("replica-a", new Date(now), new Date(now + 60_000), 1, [])).toHaveLength(1);
    await world.dispatch(b);
    expect(target.received).toHaveLength(2);
    world.clock.advance(60_000);
    await world.dispatch(b);
    expect(target.received.map((r) => r.headers["webhook-id"])).toEqual([first!.eventId, first!.eventId, second!.eventId]);
    expect(await world.delivery(second!.id)).toMatchObject({ status: "delivered", attempt: 1 });
  });

  it("disables a failing endpoint once when several of its deliveries fail at the same time", async () => {
    world = new DispatcherWorld(fresh.store);
    // The receiver answers all four together, so their failures are weighed at the same time.
    const held: (() => void)[] = [];
    const together = await receiver((_received, res) => {
      held.push(() => res.writeHead(500).end());
      if (held.length === 4) for (const answer of held) answer();
    });
    const { endpoint } = await world.endpoint(together.url(), { failingSince: new Date(world.clock.now() - 6 * 24 * 60 * 60 * 1000) });
    for (let i = 0; i < 4; i++) await world.enqueue();
    await world.dispatch(world.dispatcher());
    expect(together.received).toHaveLength(4);
    expect(await fresh.store.webhooks.findEndpoint(ORG, endpoint.id)).toMatchObject({ enabled: false });
    const audit = await fresh.store.audit.list(ORG, { limit: 10 });
    expect(audit.filter((e) => e.details["endpointId"] === endpoint.id)).toHaveLength(1);
  });

  it("disables a failing endpoint once, with one audit entry, when two replicas weigh its failures at the same time", async () => {
    world = new DispatcherWorld(fresh.store);
    const failing = await receiver(answerStatus(500));
    const { endpoint } = await world.endpoint(failing.url(), { failingSince: new Date(world.clock.now() - 6 * 24 * 60 * 60 * 1000) });
    for (let i = 0; i < 2; i++) await world.enqueue();
    const replica = inLockstep();
    const a = world.dispatcher({}, "replica-a", replica(fresh.store));
    const b = world.dispatcher({}, "replica-b", replica(other));
    a.nudge();
    b.nudge();
    await Promise.all([a.idle(), b.idle()]);

    expect(failing.received).toHaveLength(2);
    expect(await fresh.store.webhooks.findEndpoint(ORG, endpoint.id)).toMatchObject({ enabled: false });
    const audit = await fresh.store.audit.list(ORG, { limit: 10 });
    expect(audit.filter((e) => e.details["endpointId"] === endpoint.id)).toHaveLength(1);
  });
});

/**
 * Replicas that each claim one delivery, and whose reads of an endpoint return in pairs, one of
 * each replica: the second replica's read is made before the first's returns, so both weigh
 * their failure on the endpoint as it was before either disabled it, whatever the timing.
 */
function inLockstep(): (store: Store) => Store {
  let waiting: (() => void) | undefined;
  const meet = () =>
    new Promise<void>((resolve) => {
      if (waiting === undefined) return void (waiting = resolve);
      waiting();
      waiting = undefined;
      resolve();
    });
  return (store) => {
    let claims = 0;
    const replaced: Partial<WebhookRepository> = {
      findEndpoint: async (organizationId, id) => {
        const endpoint = await store.webhooks.findEndpoint(organizationId, id);
        await meet();
        return endpoint;
      },
      claimDue: (holder, now, until, _limit, skip) => (claims++ === 0 ? store.webhooks.claimDue(holder, now, until, 1, skip) : Promise.resolve([])),
    };
    const webhooks = new Proxy(store.webhooks, { get: (target, property) => replaced[property as keyof WebhookRepository] ?? bound(target, property) });
    return new Proxy(store, { get: (target, property) => (property === "webhooks" ? webhooks : bound(target, property)) });
  };
}

/** A property of `target`, its methods bound to it (they reach its private fields). */
function bound(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property);
  return typeof value === "function" ? value.bind(target) : value;
}
