import { afterEach, describe, expect, it } from "vitest";
import { DispatcherWorld, ORG } from "./dispatcher-world.js";
import { answerStatus, Receiver } from "./receiver.js";

describe("a signing secret", () => {
  const receivers: Receiver[] = [];
  const world = new DispatcherWorld();
  afterEach(async () => {
    await world.stop();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it("appears in no delivery record, no endpoint record in the clear, and no log line", async () => {
    // A receiver that echoes what it got, headers and all, into its failing answer.
    const echo = await Receiver.start((received, res) => res.writeHead(500).end(JSON.stringify(received)), answerStatus(200));
    receivers.push(echo);
    const { endpoint, secret } = await world.endpoint(echo.url());
    const dispatcher = world.dispatcher();
    const [queued] = await world.enqueue();
    await world.dispatch(dispatcher);
    world.clock.set((await world.delivery(queued!.id)).nextAttemptAt);
    await world.dispatch(dispatcher);
    expect(await world.delivery(queued!.id)).toMatchObject({ status: "delivered", attempt: 2 });

    const forms = [secret, secret.slice("whsec_".length), Buffer.from(secret.slice("whsec_".length), "base64").toString("base64url")];
    const records = JSON.stringify([await world.deliveries(endpoint.id), await world.store.webhooks.findEndpoint(ORG, endpoint.id)]);
    const logs = world.logLines.join("");
    expect(world.logLines.length).toBeGreaterThan(0);
    for (const form of forms) {
      expect(records).not.toContain(form);
      expect(logs).not.toContain(form);
    }
    // What was logged is about the delivery, and quotes the answer's excerpt only.
    expect(logs).toContain(queued!.id);
  });
});
