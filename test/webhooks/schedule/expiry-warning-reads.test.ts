import { afterEach, describe, expect, it } from "vitest";
import type { KeyRecord } from "../../../src/model/records.js";
import type { KeyRepository } from "../../../src/store/store.js";
import { boundProperty, storeWith } from "../../support/store-with.js";
import { DAY_MS, schedulerWorld } from "./scheduler-world.js";

/**
 * What a `key.expiring` pass reads: the full walk (every key expiring within a year) only hourly;
 * the passes between only the keys entering their window since the last, which still warns every
 * key once.
 */

const START = Date.UTC(2031, 2, 10, 12);
const MINUTE = 60_000;
let world: ReturnType<typeof schedulerWorld>;

afterEach(async () => {
  await world.close();
});

/** The store's keys, counting the keys listExpiringBetween read. */
function countingReads(keys: KeyRepository) {
  const counted = { read: 0 };
  const repository = new Proxy(keys, {
    get: (target, property) =>
      property === "listExpiringBetween"
        ? async (...args: Parameters<KeyRepository["listExpiringBetween"]>) => {
            const page = await target.listExpiringBetween(...args);
            counted.read += page.length;
            return page;
          }
        : boundProperty(target, property),
  });
  return { repository, counted };
}

describe("key.expiring passes", () => {
  it("read only the keys entering their window between hourly full walks, and warn every key once", async () => {
    world = schedulerWorld(START);
    const usual = await world.organization();
    const early = await world.organization({ expiryWarningDays: 30 });
    const windowOf = new Map([
      [usual, 7 * DAY_MS],
      [early, 30 * DAY_MS],
    ]);
    const keys: KeyRecord[] = [];
    for (const organizationId of [usual, early]) {
      // Far from their window (months away): only a full walk reads them.
      for (let i = 0; i < 400; i++) keys.push(await world.key(organizationId, { expiresAt: new Date(START + 60 * DAY_MS + i * 600_000) }));
      // Entering their window one a minute over the next hour, and some inside it already.
      for (let i = 0; i < 60; i++) keys.push(await world.key(organizationId, { expiresAt: new Date(START + windowOf.get(organizationId)! + i * MINUTE + 30_000) }));
      for (let i = 0; i < 5; i++) keys.push(await world.key(organizationId, { expiresAt: new Date(START + DAY_MS + i * MINUTE) }));
    }
    const { repository, counted } = countingReads(world.store.keys);
    const { scheduler } = world.replica({ store: storeWith(world.store, { keys: repository }), pageSize: 50, overlapMs: 5 * MINUTE, sweepIntervalMs: 60 * MINUTE });

    /** Every key within its window now is warned, once, and no other. */
    const expectWarnedExactly = async () => {
      const now = world.clock.now();
      for (const organizationId of [usual, early]) {
        const warned = (await world.events(organizationId, "key.expiring")).map((event) => (event.data as { key: { id: string } }).key.id);
        const due = keys.filter((key) => key.organizationId === organizationId && key.expiresAt!.getTime() - now <= windowOf.get(organizationId)!);
        expect(warned.sort()).toEqual(due.map((key) => key.id).sort());
      }
    };

    await scheduler.runOnce();
    expect(counted.read).toBe(keys.length);
    await expectWarnedExactly();

    for (let minute = 1; minute < 60; minute++) {
      // A key created inside its window, expiring before the next full walk: the next pass warns it.
      if (minute === 30) keys.push(await world.key(usual, { expiresAt: new Date(world.clock.now() + 20 * MINUTE) }));
      counted.read = 0;
      world.clock.advance(MINUTE);
      await scheduler.runOnce();
      // Each organization's band (the minute since the last pass and the 5 minutes of overlap, a
      // key a minute), and the keys expiring within the hour.
      expect(counted.read).toBeLessThanOrEqual(2 * 6 + 1);
      await expectWarnedExactly();
    }

    // A key created inside its window, expiring after the next full walk: that walk warns it.
    const inside = await world.key(usual, { expiresAt: new Date(world.clock.now() + 2 * DAY_MS) });
    keys.push(inside);
    counted.read = 0;
    world.clock.advance(MINUTE);
    await scheduler.runOnce();
    expect(counted.read).toBe(keys.filter((key) => key.expiresAt!.getTime() > world.clock.now()).length);
    await expectWarnedExactly();
  });
});
