import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from "../../../src/webhooks/retry-schedule.js";
import { newSigningSecret } from "../../../src/webhooks/signing-secret.js";
import { webhookEvent } from "../../../src/webhooks/webhook-event.js";
import { DispatcherWorld } from "./dispatcher-world.js";
import { hmacVerifies } from "./hmac.js";
import { answerStatus, Receiver, type Answer } from "./receiver.js";

const HOUR = 60 * 60 * 1000;

describe("WebhookDispatcher", () => {
  let world: DispatcherWorld;
  const receivers: Receiver[] = [];
  const receiver = async (...answers: Answer[]) => {
    const started = await Receiver.start(...answers);
    receivers.push(started);
    return started;
  };
  beforeEach(() => {
    world = new DispatcherWorld();
  });
  afterEach(async () => {
    await world.stop();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it("delivers a queued event, signed so that standardwebhooks and a plain HMAC both verify it", async () => {
    const target = await receiver();
    const { endpoint, secret } = await world.endpoint(target.url());
    const [queued] = await world.enqueue("key.revoked", { key: { id: "key_1", name: "ci" } });
    await world.dispatch(world.dispatcher());

    expect(target.received).toHaveLength(1);
    const [got] = target.received;
    expect(got!.headers["webhook-id"]).toBe(queued!.eventId);
    expect(got!.body).toBe(queued!.payload);
    expect(new Webhook(secret).verify(got!.body, got!.headers as Record<string, string>)).toMatchObject({ type: "key.revoked", data: { key: { id: "key_1" } } });
    expect(hmacVerifies(secret, got!.headers, got!.body)).toBe(true);
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "delivered", attempt: 1, responseCode: 200, lastError: "", claim: null, endpointId: endpoint.id });
  });

  it("retries with the same webhook-id until the receiver answers 2xx: failing twice, it gets the event three times", async () => {
    const target = await receiver(answerStatus(500, "database is down"), answerStatus(503), answerStatus(200));
    const { secret } = await world.endpoint(target.url());
    const [queued] = await world.enqueue();
    const dispatcher = world.dispatcher();

    await world.dispatch(dispatcher);
    const afterFirst = await world.delivery(queued!.id);
    expect(afterFirst).toMatchObject({ status: "pending", attempt: 1, responseCode: 500, lastError: "database is down" });
    expect(afterFirst.nextAttemptAt.getTime()).toBe(world.clock.now() + RETRY_DELAYS_MS[0]!);

    // Not due yet: nothing is sent.
    await world.dispatch(dispatcher);
    expect(target.received).toHaveLength(1);

    world.clock.set(afterFirst.nextAttemptAt);
    await world.dispatch(dispatcher);
    const afterSecond = await world.delivery(queued!.id);
    expect(afterSecond).toMatchObject({ status: "pending", attempt: 2, responseCode: 503, lastError: "answered 503" });
    expect(afterSecond.nextAttemptAt.getTime()).toBe(world.clock.now() + RETRY_DELAYS_MS[1]!);

    world.clock.set(afterSecond.nextAttemptAt);
    await world.dispatch(dispatcher);
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "delivered", attempt: 3, responseCode: 200, lastError: "" });

    expect(target.received.map((r) => r.headers["webhook-id"])).toEqual([queued!.eventId, queued!.eventId, queued!.eventId]);
    for (const got of target.received) expect(hmacVerifies(secret, got.headers, got.body)).toBe(true);
    // Each attempt is signed when it is made.
    expect(new Set(target.received.map((r) => r.headers["webhook-timestamp"])).size).toBe(3);
  });

  it("gives up after the last attempt of the schedule", async () => {
    const target = await receiver(answerStatus(500));
    await world.endpoint(target.url());
    const [queued] = await world.enqueue();
    const dispatcher = world.dispatcher();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      world.clock.set((await world.delivery(queued!.id)).nextAttemptAt);
      await world.dispatch(dispatcher);
    }
    expect(target.received).toHaveLength(MAX_ATTEMPTS);
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "failed", attempt: MAX_ATTEMPTS });
    world.clock.advance(48 * HOUR);
    await world.dispatch(dispatcher);
    expect(target.received).toHaveLength(MAX_ATTEMPTS);
    const text = await world.scrape();
    expect(text).toContain(`keygate_webhook_deliveries_total{outcome="retrying"} ${MAX_ATTEMPTS - 1}`);
    expect(text).toContain('keygate_webhook_deliveries_total{outcome="failed"} 1');
  });

  it("signs with both secrets during a rotation, each verifying on its own, and with the new one alone after 24 h", async () => {
    const target = await receiver();
    const expiresAt = new Date(world.clock.now() + 24 * HOUR);
    const { endpoint, secret: previous } = await world.endpoint(target.url());
    const secret = newSigningSecret();
    await world.store.webhooks.rotateSecret(endpoint.organizationId, endpoint.id, world.sealing.seal(secret, endpoint.id), expiresAt, new Date(world.clock.now()));
    const dispatcher = world.dispatcher();

    await world.enqueue();
    await world.dispatch(dispatcher);
    const [during] = target.received;
    expect(String(during!.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    for (const key of [secret, previous]) {
      expect(() => new Webhook(key).verify(during!.body, during!.headers as Record<string, string>)).not.toThrow();
      expect(hmacVerifies(key, during!.headers, during!.body)).toBe(true);
    }

    world.clock.set(expiresAt);
    await world.enqueue();
    await world.dispatch(dispatcher);
    const after = target.received[1]!;
    expect(String(after.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(hmacVerifies(secret, after.headers, after.body)).toBe(true);
    expect(hmacVerifies(previous, after.headers, after.body)).toBe(false);
  });

  it("does not follow a redirect, recording it as a failed attempt", async () => {
    const target = await receiver((_r, res) => res.writeHead(307, { location: "http://169.254.169.254/latest/meta-data" }).end());
    await world.endpoint(target.url());
    const [queued] = await world.enqueue();
    await world.dispatch(world.dispatcher());
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "pending", attempt: 1, responseCode: 307, lastError: "redirect not followed (answered 307)" });
    expect(target.received).toHaveLength(1);
  });

  it("records a receiver that does not answer in time as a failed attempt", async () => {
    const target = await receiver(() => {
      // Never answers.
    });
    await world.endpoint(target.url());
    const [queued] = await world.enqueue();
    await world.dispatch(world.dispatcher({ timeoutMs: 100 }));
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "pending", attempt: 1, responseCode: 0, lastError: "timed out after 0.1 s" });
  });

  it("refuses an endpoint on a private address unless insecure targets are allowed", async () => {
    const target = await receiver();
    const { endpoint } = await world.endpoint(`https://127.0.0.1:${target.port}/hooks`);
    const named = await world.endpoint(`https://hooks.example.test:${target.port}/hooks`);
    const [direct, byName] = await world.enqueue();
    await world.dispatch(world.dispatcher({ allowInsecure: false, resolve: async () => [{ address: "10.0.0.7", family: 4 }] }));
    expect(direct!.endpointId).toBe(endpoint.id);
    expect(await world.delivery(direct!.id)).toMatchObject({ status: "pending", lastError: expect.stringContaining("target refused: url must be on a public address") });
    expect(byName!.endpointId).toBe(named.endpoint.id);
    expect(await world.delivery(byName!.id)).toMatchObject({ status: "pending", lastError: "target refused: the host name does not resolve to a public address" });
    expect(target.connections).toBe(0);
  });

  it("fails a delivery whose endpoint was disabled after it was queued, without sending it", async () => {
    const target = await receiver();
    const { endpoint } = await world.endpoint(target.url());
    const [pending] = await world.enqueue();
    await world.store.webhooks.updateEndpoint(endpoint.organizationId, endpoint.id, { enabled: false }, new Date(world.clock.now()));
    await world.dispatch(world.dispatcher());
    expect(await world.delivery(pending!.id)).toMatchObject({ status: "failed", attempt: 1, lastError: "endpoint disabled" });
    expect(target.received).toHaveLength(0);
  });

  it("sends at most 4 deliveries at once to one endpoint, while others' deliveries go on", async () => {
    let open = 0;
    let most = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = await receiver((_r, res) => {
      open++;
      most = Math.max(most, open);
      void released.then(() => {
        open--;
        res.writeHead(200).end();
      });
    });
    const fast = await receiver();
    const busy = await world.endpoint(slow.url());
    for (let i = 0; i < 10; i++) await world.enqueue();
    const other = await world.endpoint(fast.url());
    const [toOther] = (await world.enqueue()).filter((d) => d.endpointId === other.endpoint.id);

    const dispatcher = world.dispatcher();
    dispatcher.nudge();
    await slow.count(4);
    // The other endpoint's delivery is not held up behind the busy one.
    await fast.count(1);
    const claimed = (await world.deliveries(busy.endpoint.id)).filter((d) => d.claim !== null);
    expect(claimed).toHaveLength(4);

    release();
    await dispatcher.idle();
    expect(slow.received).toHaveLength(11);
    expect(most).toBeLessThanOrEqual(4);
    expect((await world.deliveries(busy.endpoint.id)).every((d) => d.status === "delivered")).toBe(true);
    expect(await world.delivery(toOther!.id)).toMatchObject({ status: "delivered" });
  });

  it("sends at most 8 deliveries at once for one organization, so its backlog at slow receivers does not hold up another's", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = await receiver((_r, res) => void released.then(() => res.writeHead(200).end()));
    const fast = await receiver();
    // 10 endpoints, 40 deliveries due before the other organization's: more than the replica's 32 slots.
    const busy = [];
    for (let i = 0; i < 10; i++) busy.push((await world.endpoint(slow.url())).endpoint);
    for (let i = 0; i < 4; i++) await world.enqueue();
    world.clock.advance(1);
    const otherOrg = "org_01HZX3K4M5N6P7Q8R9S0T1V2W4";
    await world.endpoint(fast.url(), { organizationId: otherOrg });
    const [toOther] = (await world.store.webhooks.enqueue(webhookEvent("key.created", otherOrg, {}, new Date(world.clock.now()))))!;

    const dispatcher = world.dispatcher();
    dispatcher.nudge();
    await fast.count(1);
    const claimed = (await Promise.all(busy.map((endpoint) => world.deliveries(endpoint.id)))).flat().filter((d) => d.claim !== null);
    expect(claimed).toHaveLength(8);

    release();
    await dispatcher.idle();
    expect(slow.received).toHaveLength(40);
    expect(await world.store.webhooks.findDelivery(otherOrg, toOther!.id)).toMatchObject({ status: "delivered" });
  });

  it("lets two replicas share the outbox without delivering any event twice", async () => {
    const target = await receiver();
    await world.endpoint(target.url());
    for (let i = 0; i < 20; i++) await world.enqueue();
    const a = world.dispatcher({}, "replica-a");
    const b = world.dispatcher({}, "replica-b");
    a.nudge();
    b.nudge();
    await Promise.all([a.idle(), b.idle()]);
    const ids = target.received.map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });

  it("delivers what a replica claimed and never recorded (it died) once the claim lapses", async () => {
    const target = await receiver();
    await world.endpoint(target.url());
    const [queued] = await world.enqueue();
    const now = world.clock.now();
    await world.store.webhooks.claimDue("dead-replica", new Date(now), new Date(now + 60_000), 10, []);
    const survivor = world.dispatcher();

    await world.dispatch(survivor);
    expect(target.received).toHaveLength(0);

    world.clock.advance(60_000);
    await world.dispatch(survivor);
    expect(target.received.map((r) => r.headers["webhook-id"])).toEqual([queued!.eventId]);
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "delivered", attempt: 1 });
  });

  it("once started, delivers on its own, without being nudged", async () => {
    const target = await receiver();
    await world.endpoint(target.url());
    const [queued] = await world.enqueue();
    const dispatcher = world.dispatcher();
    dispatcher.start();
    await target.count(1);
    await dispatcher.stop();
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "delivered" });
  });

  it("stops only once the attempts under way are recorded", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const target = await receiver((_r, res) => void released.then(() => res.writeHead(200).end()));
    await world.endpoint(target.url());
    const [queued] = await world.enqueue();
    const dispatcher = world.dispatcher();
    dispatcher.nudge();
    await target.count(1);
    const stopped = dispatcher.stop();
    release();
    await stopped;
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "delivered" });
    // Stopped: what is queued now stays queued.
    const [later] = await world.enqueue();
    dispatcher.nudge();
    await dispatcher.idle();
    expect(await world.delivery(later!.id)).toMatchObject({ status: "pending", attempt: 0 });
  });
});
