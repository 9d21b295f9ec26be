import { afterEach, describe, expect, it } from "vitest";
import { CheckService } from "../../../src/authz/check-service.js";
import { RateLimitNotes } from "../../../src/webhooks/schedule/rate-limit-notes.js";
import { createHarness, envoyRequest, outcomeOf } from "../../authz/check-harness.js";
import { schedulerWorld } from "./scheduler-world.js";

/**
 * `rate_limit.exceeded`: Check only notes a key denied by its own rate limit; the scheduler makes
 * one event per key and window of the limit, however many denials, passes and replicas.
 */

const MINUTE_MS = 60_000;
const START = Date.UTC(2031, 2, 10, 12, 0, 10);
let world: ReturnType<typeof schedulerWorld>;

afterEach(async () => {
  await world.close();
});

describe("rate_limit.exceeded", () => {
  it("comes of Checks denied RATE_LIMITED: one event for the key's window, whatever the number of denials", async () => {
    const h = await createHarness();
    world = schedulerWorld(h.clock.now(), { store: h.backing, clock: h.clock });
    await world.subscribe(h.organizationId);
    const { secret, key } = await h.createKey({ rateLimit: { limit: 2, period: "minute" } });
    const replica = world.replica();
    const service = new CheckService({ ...h.deps, rateLimits: replica.notes });
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) outcomes.push(outcomeOf(await service.check(envoyRequest({ "x-api-key": secret }))));
    expect(outcomes.filter((outcome) => outcome === "RATE_LIMITED")).toHaveLength(10);

    await replica.scheduler.runOnce();
    await replica.scheduler.runOnce();
    const events = await world.events(h.organizationId, "rate_limit.exceeded");
    expect(events).toHaveLength(1);
    const windowStart = Math.floor(h.clock.now() / MINUTE_MS) * MINUTE_MS;
    expect(events[0]!.data).toMatchObject({
      key: { id: key.id, rate_limit: { limit: 2, period: "minute" } },
      limit: { limit: 2, period: "minute" },
      window_start: new Date(windowStart).toISOString(),
      window_end: new Date(windowStart + MINUTE_MS).toISOString(),
    });
    expect(JSON.stringify(events[0]!.data)).not.toContain(key.secretHash);
  });

  it("is made once per key and window across replicas, again in the next window, never for denials already noted", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    const key = await world.key(organizationId, { rateLimit: { limit: 5, period: "minute" } });
    const other = await world.key(organizationId, { rateLimit: { limit: 5, period: "minute" } });
    const [a, b] = [world.replica(), world.replica()];
    const denied = (replica: typeof a, times: number, which = key) => {
      for (let i = 0; i < times; i++) replica.notes.rateLimited(which, world.clock.now());
    };

    denied(a, 50);
    denied(b, 50);
    denied(b, 3, other);
    await a.scheduler.runOnce();
    await b.scheduler.runOnce();
    world.clock.advance(10_000);
    denied(a, 50);
    denied(b, 50);
    await b.scheduler.runOnce();
    await a.scheduler.runOnce();
    const firstWindow = await world.events(organizationId, "rate_limit.exceeded");
    expect(firstWindow.map((event) => (event.data["key"] as { id: string }).id).sort()).toEqual([key.id, other.id].sort());

    // The next minute is another window.
    world.clock.advance(MINUTE_MS);
    denied(b, 50);
    await b.scheduler.runOnce();
    await a.scheduler.runOnce();
    const events = (await world.events(organizationId, "rate_limit.exceeded")).filter((event) => (event.data["key"] as { id: string }).id === key.id);
    expect(events.map((event) => event.data["window_start"])).toEqual([
      new Date(Math.floor(START / MINUTE_MS) * MINUTE_MS).toISOString(),
      new Date(Math.floor(START / MINUTE_MS) * MINUTE_MS + MINUTE_MS).toISOString(),
    ]);
  });

  it("keeps at most maxKeys keys noted, and forgets a window once it ended and its event was made", () => {
    const notes = new RateLimitNotes({ maxKeys: 2 });
    const keyOf = (id: string) => ({ id, organizationId: "org_A", rateLimit: { limit: 1, period: "second" as const } });
    notes.rateLimited(keyOf("key_1"), START);
    notes.rateLimited(keyOf("key_2"), START);
    notes.rateLimited(keyOf("key_3"), START);
    expect(notes.take(START).map((note) => note.keyId)).toEqual(["key_1", "key_2"]);
    expect(notes.takeDropped()).toBe(1);
    // Taken, their windows (a second) over: they hold their room until the next take forgets them.
    notes.rateLimited(keyOf("key_3"), START + 1_000);
    expect(notes.take(START + 1_000).map((note) => note.keyId)).toEqual([]);
    notes.rateLimited(keyOf("key_3"), START + 1_001);
    expect(notes.take(START + 1_001).map((note) => note.keyId)).toEqual(["key_3"]);
    expect(notes.takeDropped()).toBe(1);
  });
});
