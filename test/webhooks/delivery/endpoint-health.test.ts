import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DispatcherWorld, ORG } from "./dispatcher-world.js";
import { answerStatus, Receiver } from "./receiver.js";

const DAY = 24 * 60 * 60 * 1000;

describe("an endpoint's failing streak", () => {
  let world: DispatcherWorld;
  let target: Receiver;
  beforeEach(async () => {
    world = new DispatcherWorld();
    target = await Receiver.start(answerStatus(500));
  });
  afterEach(async () => {
    await world.stop();
    await target.close();
  });

  const endpointNow = async (id: string) => (await world.store.webhooks.findEndpoint(ORG, id))!;

  it("starts at its first failed attempt and ends at its next delivered one", async () => {
    const { endpoint } = await world.endpoint(target.url());
    const dispatcher = world.dispatcher();
    await world.enqueue();
    await world.dispatch(dispatcher);
    const failingSince = (await endpointNow(endpoint.id)).failingSince;
    expect(failingSince?.getTime()).toBe(world.clock.now());

    // Later failures keep the streak's start.
    world.clock.advance(DAY);
    await world.enqueue();
    await world.dispatch(dispatcher);
    expect((await endpointNow(endpoint.id)).failingSince).toEqual(failingSince);

    const healthy = await Receiver.start(answerStatus(204));
    try {
      await world.store.webhooks.updateEndpoint(ORG, endpoint.id, { url: healthy.url() }, new Date(world.clock.now()));
      await world.enqueue();
      await world.dispatch(dispatcher);
    } finally {
      await healthy.close();
    }
    expect(await endpointNow(endpoint.id)).toMatchObject({ enabled: true, failingSince: null });
  });

  it("disables the endpoint once it has failed for 5 days, with an audit event by keygate saying why", async () => {
    const { endpoint } = await world.endpoint(target.url(), { failingSince: new Date(world.clock.now() - 5 * DAY + 1) });
    const dispatcher = world.dispatcher();
    await world.enqueue();
    await world.dispatch(dispatcher);
    expect((await endpointNow(endpoint.id)).enabled).toBe(true);

    world.clock.advance(1);
    await world.enqueue();
    await world.dispatch(dispatcher);
    const disabled = await endpointNow(endpoint.id);
    expect(disabled.enabled).toBe(false);
    expect(disabled.disabledReason).toMatch(/failed since .* \(5 days\)/);

    const audit = await world.store.audit.list(ORG, { limit: 10 });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: "webhook.update",
      actorKeyId: "keygate",
      details: { endpointId: endpoint.id, target: new URL(target.url()).origin, fields: "enabled", enabled: "false", reason: disabled.disabledReason },
    });

    // Its deliveries still pending fail without being sent; new events no longer go to it.
    const sent = target.received.length;
    world.clock.advance(DAY);
    await world.dispatch(dispatcher);
    expect(target.received).toHaveLength(sent);
    expect((await world.deliveries(endpoint.id)).filter((d) => d.status === "pending")).toHaveLength(0);
    expect(await world.enqueue()).toHaveLength(0);
  });

  it("does not count a delivery to a disabled endpoint against it", async () => {
    const { endpoint } = await world.endpoint(target.url());
    await world.enqueue();
    await world.store.webhooks.updateEndpoint(ORG, endpoint.id, { enabled: false }, new Date(world.clock.now()));
    await world.dispatch(world.dispatcher());
    expect(await endpointNow(endpoint.id)).toMatchObject({ failingSince: null, disabledReason: "" });
  });
});
