import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { systemClock } from "../../src/time/clock.js";
import { budgetWindow, burst, fleetChecker, tally, withinOneMinute } from "./fleet-load.js";
import { startReplicaFleet, type ReplicaFleet } from "./replica-fleet.js";

/**
 * Issue 15: a limit lowered mid-window takes effect at the next slice. Three replicas admit a
 * few Checks of a key under its old limit; the limit is lowered through one replica; once every
 * replica has the change, a burst over all of them admits only what the new limit leaves of the
 * window. Units granted under the old limit stay granted, but a replica holding some may use only
 * what the new limit leaves beside the others' holdings as the store has them after the change;
 * no more is granted. Nothing is admitted beyond the new limit; what the old limit's slices hold
 * unused may keep the fleet below it until they go back or the window ends.
 */
const OLD_LIMIT = 60;
const NEW_LIMIT = 20;
const BEFORE = 10;
/** The change reaches the replicas within a poll interval or so; the whole test fits in one minute. */
const MINUTE_MARGIN_MS = 10_000;

describe("a limit lowered mid-window", () => {
  let fleet: ReplicaFleet;

  beforeAll(async () => {
    fleet = await startReplicaFleet({ size: 3, clock: systemClock, plan: "enterprise", env: { KEYGATE_CHANGE_POLL_INTERVAL_MS: "100" } });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it(`from ${OLD_LIMIT} to ${NEW_LIMIT} a minute: the fleet admits at most ${NEW_LIMIT} in the window, not ${OLD_LIMIT}`, async () => {
    const [first] = fleet.replicas;
    const { key, secret } = await first!.client.createKey({
      name: "lowered",
      scopes: ["machines:read"],
      rateLimit: OLD_LIMIT,
      rateLimitPeriod: RateLimitPeriod.MINUTE,
    });
    const bucket = `key/${key!.id}/minute`;
    const { before, grantedBefore, after, grantedAfter } = await withinOneMinute(fleet.db, MINUTE_MARGIN_MS, async () => {
      const fleetCheck = fleetChecker(fleet.replicas);
      const outcomes: string[] = [];
      for (let i = 0; i < BEFORE; i++) outcomes.push(await fleetCheck.at(i)(secret));

      await first!.client.updateKey({ id: key!.id, rateLimit: NEW_LIMIT });
      const hash = first!.app.hasher.hash(secret);
      // Each replica has the change once its cached key carries the new limit, or it holds none.
      const changed = () => fleet.replicas.every(({ app }) => [undefined, NEW_LIMIT].includes(app.keyCache.cached(hash)?.rateLimit?.limit));
      await expect.poll(changed, { timeout: 10_000, interval: 50 }).toBe(true);
      const grantedBefore = (await budgetWindow(fleet.db, bucket))?.granted ?? 0;

      const after = await burst(fleet.replicas, secret, 3 * NEW_LIMIT);
      return { before: tally(outcomes), grantedBefore, after, grantedAfter: (await budgetWindow(fleet.db, bucket))?.granted ?? 0 };
    });
    console.info(`lowered: before ${JSON.stringify(before)} (granted ${grantedBefore}), after ${JSON.stringify(after)} (granted ${grantedAfter})`);
    expect(before).toEqual({ allowed: BEFORE });
    expect(BEFORE + (after["allowed"] ?? 0)).toBeLessThanOrEqual(NEW_LIMIT);
    expect(grantedAfter).toBeLessThanOrEqual(Math.max(NEW_LIMIT, grantedBefore));
  });
});
