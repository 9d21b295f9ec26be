import { afterEach, describe, expect, it } from "vitest";
import type { BudgetSpec } from "../../src/limits/leased-budgets.js";
import { leasedFleet, request, type Fleet } from "./leased-fleet.js";

/**
 * What a Check that must wait for a slice gets for its wait (issue 15: one batched round trip,
 * never more), found by the bench's lease-waits measurement on MongoDB and pinned here on the
 * embedded leases.
 */

const minute = (limit: number, bucket: string): BudgetSpec => ({ bucket, unit: "minute", limit });
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("a Check that waits for a slice", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it("finds the units of a bucket it did not wait for still there when it decides again, whatever the other waiting Checks took", async () => {
    fleet = await leasedFleet({ replicas: 1 });
    const replica = fleet.replicas[0]!;
    const organization = minute(1_000_000, "org/org_A/minute");
    const key = (i: number) => [minute(100, `key/key_${i}/minute`), organization];
    // The organization's first request leases it a slice sized for its young rate (a few seconds
    // of a few requests a second).
    expect(await request(replica, key(0))).toBe(true);
    const asked = fleet.leases.asks.length;
    // Far more of its keys than that, each seen for the first time, at once: each waits for its
    // key's first slice, and decides again when it lands, with the organization's units there
    // for it: one ask for them all, no second round trip.
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => request(replica, key(i + 1))));
    expect(outcomes.filter((admitted) => !admitted)).toHaveLength(0);
    expect(fleet.leases.asks.length - asked).toBe(1);
  });

  it("that comes while an ask for its bucket is in the air is answered by that ask when it brings enough", async () => {
    fleet = await leasedFleet({ replicas: 1 });
    const replica = fleet.replicas[0]!;
    // The first request's ask is held in the air; the second comes meanwhile.
    const spec = [minute(40, "key/key_L/minute")];
    fleet.leases.hold();
    const first = request(replica, spec);
    await turn();
    const asked = fleet.leases.asks.length;
    expect(asked).toBe(1);
    const second = request(replica, spec);
    await turn();
    fleet.leases.release();
    expect(await first).toBe(true);
    expect(await second).toBe(true);
    // No ask of its own: the slice in the air was enough.
    expect(fleet.leases.asks.length).toBe(asked);
  });

  it("that comes while an unanswered ask is in the air waits no longer than waitMs after it", async () => {
    fleet = await leasedFleet({ replicas: 1, waitMs: 50, outageAllowance: "none" });
    const replica = fleet.replicas[0]!;
    const spec = [minute(10, "key/key_H/minute")];
    fleet.leases.hold();
    const first = request(replica, spec);
    await turn(); // its ask is sent, and held
    const second = request(replica, spec);
    expect(await first).toBe(false);
    // Without the store and with no allowance, nothing held: denied, well before the held ask ends.
    const outcome = await Promise.race([second, new Promise((resolve) => setTimeout(() => resolve("still waiting"), 2_000))]);
    expect(outcome).toBe(false);
  });
});
