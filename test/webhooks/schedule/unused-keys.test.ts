import { afterEach, describe, expect, it } from "vitest";
import { DAY_MS, schedulerWorld } from "./scheduler-world.js";

/**
 * Keys unused for the organization's `disable_unused_keys_after_days` are disabled by the
 * scheduler as UpdateKey would, with their `key.updated` event, an audit entry and an
 * announcement that makes caches drop them; keys used since the cutoff, and young keys, stay.
 */

const START = Date.UTC(2031, 2, 1, 12);
let world: ReturnType<typeof schedulerWorld>;

afterEach(async () => {
  await world.close();
});

describe("unused keys", () => {
  it("are disabled with key.updated, an audit entry and an announcement; used and young keys stay", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization({ disableUnusedKeysAfterDays: 30 });
    const neverUsed = await world.key(organizationId);
    const usedLongAgo = await world.key(organizationId);
    const usedLately = await world.key(organizationId);
    const [a, b] = [world.replica(), world.replica()];
    world.clock.advance(5 * DAY_MS);
    await world.use(a, usedLongAgo, 3);
    world.clock.advance(30 * DAY_MS);
    await world.use(b, usedLately, 1);
    const young = await world.key(organizationId);
    // Day 40: the cutoff is day 10. Both replicas sweep at once: each key is disabled once.
    world.clock.advance(5 * DAY_MS);
    await Promise.all([a.scheduler.runOnce(), b.scheduler.runOnce()]);

    const disabled = [neverUsed.id, usedLongAgo.id].sort();
    for (const key of [neverUsed, usedLongAgo, usedLately, young]) {
      const stored = await world.store.keys.findById(organizationId, key.id);
      expect(stored!.isActive, key === neverUsed ? "never used" : key === usedLongAgo ? "used on day 5" : key === usedLately ? "used on day 35" : "created on day 35").toBe(!disabled.includes(key.id));
    }
    const updated = await world.events(organizationId, "key.updated");
    expect(updated.map((event) => (event.data["key"] as { id: string }).id).sort()).toEqual(disabled);
    for (const event of updated) expect(event.data).toMatchObject({ key: { is_active: false }, reason: "unused" });

    const audit = await world.store.audit.list(organizationId, { limit: 100 });
    expect(audit.map((entry) => entry.keyId).sort()).toEqual(disabled);
    const neverUsedEntry = audit.find((entry) => entry.keyId === neverUsed.id)!;
    expect(neverUsedEntry).toMatchObject({ action: "key.update", actorKeyId: "keygate", details: { fields: "isActive", lastUsedAt: "never" } });
    expect(audit.find((entry) => entry.keyId === usedLongAgo.id)!.details["lastUsedAt"]).toBe(new Date(START + 5 * DAY_MS).toISOString());

    expect(world.announced.map(({ key }) => [key!.id, key!.isActive]).sort()).toEqual(disabled.map((id) => [id, false]));
  });

  it("never disables a key that administers: its use on the admin API is not counted, and the organization would be locked out", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization({ disableUnusedKeysAfterDays: 1 });
    const owners = await world.key(organizationId, { scopes: ["admin:read", "admin:write"] });
    const reader = await world.key(organizationId, { scopes: ["admin:read", "machines:read"] });
    const operator = await world.key(organizationId, { scopes: ["platform:admin"] });
    const service = await world.key(organizationId, { scopes: ["machines:read"] });
    world.clock.advance(10 * DAY_MS);
    await world.replica().scheduler.runOnce();
    for (const key of [owners, reader, operator]) expect((await world.store.keys.findById(organizationId, key.id))!.isActive, key.scopes.join(" ")).toBe(true);
    expect((await world.store.keys.findById(organizationId, service.id))!.isActive).toBe(false);
  });

  it("leaves every key of an organization that does not ask for it", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    const key = await world.key(organizationId);
    world.clock.advance(400 * DAY_MS);
    await world.replica().scheduler.runOnce();
    expect((await world.store.keys.findById(organizationId, key.id))!.isActive).toBe(true);
    expect(await world.events(organizationId, "key.updated")).toEqual([]);
  });

  it("sweeps at most every sweepIntervalMs", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization({ disableUnusedKeysAfterDays: 1 });
    const { scheduler } = world.replica({ sweepIntervalMs: 3_600_000 });
    world.clock.advance(2 * DAY_MS);
    await scheduler.runOnce();
    const key = await world.key(organizationId, { createdAt: new Date(START) });
    world.clock.advance(3_600_000 - 1);
    await scheduler.runOnce();
    expect((await world.store.keys.findById(organizationId, key.id))!.isActive).toBe(true);
    world.clock.advance(1);
    await scheduler.runOnce();
    expect((await world.store.keys.findById(organizationId, key.id))!.isActive).toBe(false);
  });
});
