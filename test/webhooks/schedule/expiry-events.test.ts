import { afterEach, describe, expect, it } from "vitest";
import { DAY_MS, schedulerWorld } from "./scheduler-world.js";

/**
 * `key.expiring` and `key.expired` from the scheduler: once per key and expiry, however many
 * passes and replicas find the key, and once more for an expiry that was moved.
 */

const START = Date.UTC(2031, 2, 10, 12);
let world: ReturnType<typeof schedulerWorld>;

afterEach(async () => {
  await world.close();
});

describe("key.expiring", () => {
  it("arrives once across passes and replicas, within the organization's warning days, and again once the expiry moves", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    const key = await world.key(organizationId, { expiresAt: new Date(START + 10 * DAY_MS) });
    const [a, b] = [world.replica(), world.replica()];

    await a.scheduler.runOnce();
    expect(await world.events(organizationId, "key.expiring")).toEqual([]);

    // Seven days before (the default warning), every pass of both replicas finds it.
    world.clock.advance(3 * DAY_MS + 60_000);
    await a.scheduler.runOnce();
    await b.scheduler.runOnce();
    world.clock.advance(60_000);
    await a.scheduler.runOnce();
    await b.scheduler.runOnce();
    const first = await world.events(organizationId, "key.expiring");
    expect(first).toHaveLength(1);
    expect(first[0]!.data).toMatchObject({ key: { id: key.id, expires_at: key.expiresAt!.toISOString() }, expiry_warning_days: 7 });

    // The expiry moved out of the warning: nothing until the new one is near, then a new warning.
    const movedTo = new Date(world.clock.now() + 20 * DAY_MS);
    await world.store.keys.update(organizationId, key.id, { expiresAt: movedTo, updatedAt: new Date(world.clock.now()) }, { organizationMax: 1_000, userMax: 1_000 });
    await a.scheduler.runOnce();
    expect(await world.events(organizationId, "key.expiring")).toHaveLength(1);
    world.clock.advance(14 * DAY_MS);
    await b.scheduler.runOnce();
    await a.scheduler.runOnce();
    const warnings = await world.events(organizationId, "key.expiring");
    expect(warnings).toHaveLength(2);
    expect(warnings[1]!.data).toMatchObject({ key: { id: key.id, expires_at: movedTo.toISOString() } });
    expect(warnings[1]!.eventId).not.toBe(warnings[0]!.eventId);
  });

  it("follows each organization's expiry_warning_days", async () => {
    world = schedulerWorld(START);
    const early = await world.organization({ expiryWarningDays: 30 });
    const usual = await world.organization();
    await world.key(early, { expiresAt: new Date(START + 20 * DAY_MS) });
    await world.key(usual, { expiresAt: new Date(START + 20 * DAY_MS) });
    await world.replica().scheduler.runOnce();
    expect(await world.events(early, "key.expiring")).toHaveLength(1);
    expect(await world.events(usual, "key.expiring")).toEqual([]);
  });

  it("is not sent for a key that is disabled or already expired", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    await world.key(organizationId, { expiresAt: new Date(START + DAY_MS), isActive: false });
    await world.key(organizationId, { expiresAt: new Date(START - 60_000) });
    await world.replica().scheduler.runOnce();
    expect(await world.events(organizationId, "key.expiring")).toEqual([]);
  });
});

describe("key.expired", () => {
  it("arrives once per key and expiry, whichever replicas and passes see it pass", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    const key = await world.key(organizationId, { expiresAt: new Date(START + 3_600_000) });
    const [a, b] = [world.replica(), world.replica()];
    await a.scheduler.runOnce();
    expect(await world.events(organizationId, "key.expired")).toEqual([]);

    world.clock.advance(2 * 3_600_000);
    await a.scheduler.runOnce();
    await b.scheduler.runOnce();
    world.clock.advance(60_000);
    await a.scheduler.runOnce();
    await b.scheduler.runOnce();
    const expired = await world.events(organizationId, "key.expired");
    expect(expired).toHaveLength(1);
    expect(expired[0]!.data).toMatchObject({ key: { id: key.id, expires_at: key.expiresAt!.toISOString() } });
    // A replica that starts later looks back over the expiry and finds it queued already.
    world.clock.advance(DAY_MS);
    await world.replica().scheduler.runOnce();
    expect(await world.events(organizationId, "key.expired")).toHaveLength(1);
  });

  it("is caught up by a scheduler that starts after the expiry, within its catch-up bound", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    const recent = await world.key(organizationId, { expiresAt: new Date(START - 2 * DAY_MS) });
    await world.key(organizationId, { expiresAt: new Date(START - 8 * DAY_MS) });
    await world.replica({ catchUpMs: 7 * DAY_MS }).scheduler.runOnce();
    const expired = await world.events(organizationId, "key.expired");
    expect(expired.map((event) => (event.data["key"] as { id: string }).id)).toEqual([recent.id]);
  });

  it("reaches back over the previous pass, so an expiry at the edge between two passes is not lost", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    const { scheduler } = world.replica({ overlapMs: 300_000 });
    await scheduler.runOnce();
    // Written after that pass with an expiry a moment before it (a replica whose clock is behind).
    await world.key(organizationId, { expiresAt: new Date(START - 1_000) });
    world.clock.advance(60_000);
    await scheduler.runOnce();
    expect(await world.events(organizationId, "key.expired")).toHaveLength(1);
  });
});
