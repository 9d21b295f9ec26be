import { afterEach, describe, expect, it } from "vitest";
import { schedulerWorld } from "./scheduler-world.js";

/**
 * `quota.threshold`: once per organization, threshold and month, from the month's stored usage
 * against the plan's monthly quota (100 on the test plan), whichever replica wrote the batch that
 * crossed it; and again in the next month.
 */

const START = Date.UTC(2031, 2, 10, 12);
let world: ReturnType<typeof schedulerWorld>;

afterEach(async () => {
  await world.close();
});

const thresholdsOf = (events: Array<{ data: Record<string, unknown> }>) => events.map((event) => [event.data["month"], event.data["threshold"]]);

describe("quota.threshold", () => {
  it("arrives once per threshold and month, from whichever replica's usage crossed it", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    const key = await world.key(organizationId);
    const [a, b] = [world.replica(), world.replica()];

    await world.use(a, key, 79);
    await a.scheduler.runOnce();
    expect(await world.events(organizationId, "quota.threshold")).toEqual([]);

    // Replica B's batch crosses 80%: B looks; A, which wrote nothing since, has nothing to look at.
    await world.use(b, key, 2);
    await a.scheduler.runOnce();
    expect(await world.events(organizationId, "quota.threshold")).toEqual([]);
    await b.scheduler.runOnce();
    const crossed = await world.events(organizationId, "quota.threshold");
    expect(crossed).toHaveLength(1);
    expect(crossed[0]!.data).toEqual({ organization_id: organizationId, month: "2031-03", threshold: 80, used: 81, quota: 100, plan: "small" });

    // More usage on both replicas, more passes: 80% is not sent again; 100% once.
    await world.use(a, key, 5);
    await a.scheduler.runOnce();
    await world.use(a, key, 20);
    await world.use(b, key, 1);
    await a.scheduler.runOnce();
    await b.scheduler.runOnce();
    await a.scheduler.runOnce();
    expect(thresholdsOf(await world.events(organizationId, "quota.threshold"))).toEqual([
      ["2031-03", 80],
      ["2031-03", 100],
    ]);

    // A new month starts over.
    world.clock.set(Date.UTC(2031, 3, 2, 9));
    await world.use(b, key, 85);
    await b.scheduler.runOnce();
    await a.scheduler.runOnce();
    expect(thresholdsOf(await world.events(organizationId, "quota.threshold"))).toEqual([
      ["2031-03", 80],
      ["2031-03", 100],
      ["2031-04", 80],
    ]);
  });

  it("follows the organization's own thresholds, each crossed in one batch sent once", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization({ quotaThresholds: [25, 50, 90] });
    const other = await world.organization();
    const a = world.replica();
    await world.use(a, await world.key(organizationId), 60);
    await world.use(a, await world.key(other), 60);
    await a.scheduler.runOnce();
    expect(thresholdsOf(await world.events(organizationId, "quota.threshold"))).toEqual([
      ["2031-03", 25],
      ["2031-03", 50],
    ]);
    // Another organization's usage is its own: 60 of 100 crosses none of the default 80 and 100.
    expect(await world.events(other, "quota.threshold")).toEqual([]);
  });

  it("looks again at an organization whose check failed", async () => {
    world = schedulerWorld(START);
    const organizationId = await world.organization();
    const a = world.replica();
    await world.use(a, await world.key(organizationId), 90);
    const allowedRequests = world.store.usage.allowedRequests;
    world.store.usage.allowedRequests = async () => {
      throw new Error("store unavailable");
    };
    await expect(a.scheduler.runOnce()).rejects.toThrow("store unavailable");
    world.store.usage.allowedRequests = allowedRequests;
    await a.scheduler.runOnce();
    expect(thresholdsOf(await world.events(organizationId, "quota.threshold"))).toEqual([["2031-03", 80]]);
  });
});
