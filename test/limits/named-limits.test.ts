import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Spend } from "../../src/limits/check-limits.js";
import { admit, leasedSetup, localSetup, verdict, type FleetSetup } from "./named-limits-fleet.js";

/**
 * Named limits, cost and identities in both CheckLimits: LocalLimits, and two LeasedLimits replicas
 * on one embedded lease store, all on one ManualClock (so windows roll only when the test says).
 */

const START = Date.UTC(2026, 0, 15, 12, 0, 0, 100);
const spend = (cost: number, identity: Spend["identity"] = null, only: readonly string[] | null = null): Spend => ({ cost, only, identity });

describe.each([
  ["LocalLimits", () => localSetup(START)],
  ["two LeasedLimits replicas", () => leasedSetup(START)],
])("%s", (name, make) => {
  let setup: FleetSetup | undefined;
  afterEach(async () => {
    await setup?.close();
    setup = undefined;
  });

  it("a key with 3/second and 10/minute is denied by whichever runs out first, naming it", async () => {
    setup = await make();
    const { clock, limits } = setup;
    const key = {
      id: "key_burst",
      organizationId: "org_1",
      rateLimit: null,
      limits: [
        { name: "burst", limit: 3, period: "second" as const },
        { name: "steady", limit: 10, period: "minute" as const },
      ],
    };
    // Four a second for five seconds: the second's limit binds first, then the minute's. (A
    // little over a second apart: the sliding window gives capacity back up to a slot late.)
    // Per second: how many were admitted, and what the others were denied by.
    const seconds: string[] = [];
    for (let second = 0; second < 5; second++) {
      const verdicts: string[] = [];
      for (let i = 0; i < 4; i++) verdicts.push(verdict(await admit(limits(i), key, () => clock.now())));
      const denials = [...new Set(verdicts.filter((v) => v !== "admitted"))].join(" ");
      seconds.push(`${verdicts.filter((v) => v === "admitted").length} admitted; ${denials}`);
      clock.advance(1_100);
    }
    expect(seconds).toEqual([
      "3 admitted; RATE_LIMITED key:burst",
      "3 admitted; RATE_LIMITED key:burst",
      "3 admitted; RATE_LIMITED key:burst",
      "1 admitted; RATE_LIMITED key:steady",
      "0 admitted; RATE_LIMITED key:steady",
    ]);
  });

  // Limits under 8 units: two replicas never ask ahead there (lease-sizing.ts asksAhead), so each
  // ask is exactly what waits, and what the fleet admits is exact (slices held unused elsewhere
  // would otherwise be budget this replica cannot use until given back; docs/limits.md).
  it("a request of cost 3 spends 3 on every limit that applies: the key's and its identity's", async () => {
    setup = await make();
    const { clock, limits } = setup;
    const identity = { id: "idt_1", limits: [{ name: "team", limit: 6, period: "hour" as const }] };
    const key = { id: "key_cost", organizationId: "org_1", rateLimit: { limit: 7, period: "minute" as const }, identityId: "idt_1" };
    const first = await admit(limits(0), key, () => clock.now(), spend(3, identity));
    // The identity's 6 - 3 = 3 is the tightest.
    expect(first).toMatchObject({ admitted: true, line: { owner: "identity", name: "team" }, state: { limit: 6, remaining: 3 } });
    expect(verdict(await admit(limits(1), key, () => clock.now(), spend(3, identity)))).toBe("admitted");
    // The identity's 6 are spent: a route spending only its limit is denied by it (and spends
    // nothing, not even the key's default, which such a route spends too: the key has no limit it names).
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(1, identity, ["team"])))).toBe("RATE_LIMITED identity:team");
    // The key's default limit spent 3 + 3 of its 7: one more for a route that spends it alone.
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(1, identity, ["default"])))).toBe("admitted");
    expect(verdict(await admit(limits(1), key, () => clock.now(), spend(1, identity, ["default"])))).toBe("RATE_LIMITED key:default");
  });

  it("two keys of one identity share its limit exactly", async () => {
    setup = await make();
    const { clock, limits } = setup;
    const identity = { id: "idt_shared", limits: [{ name: "team", limit: 7, period: "minute" as const }] };
    const keys = ["key_a", "key_b"].map((id) => ({ id, organizationId: "org_1", rateLimit: { limit: 100, period: "minute" as const }, identityId: identity.id }));
    const verdicts = [];
    for (let i = 0; i < 12; i++) verdicts.push(verdict(await admit(limits(i >> 1), keys[i % 2]!, () => clock.now(), spend(1, identity))));
    expect(verdicts).toEqual([...Array<string>(7).fill("admitted"), ...Array<string>(5).fill("RATE_LIMITED identity:team")]);
  });

  it("a cost above a limit is never admitted, and spends nothing anywhere", async () => {
    setup = await make();
    const { clock, limits } = setup;
    const key = { id: "key_small", organizationId: "org_1", rateLimit: { limit: 3, period: "minute" as const } };
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(4)))).toBe("RATE_LIMITED key:default");
    expect(verdict(await admit(limits(1), key, () => clock.now(), spend(3)))).toBe("admitted");
  });

  it("property: whatever the costs, what is admitted in a window never passes a limit, and a request is denied only when it does not fit", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 25 }), async (limit, costs) => {
        const run = await make();
        try {
          const key = { id: "key_prop", organizationId: "org_1", rateLimit: null, limits: [{ name: "hourly", limit, period: "hour" as const }] };
          let spent = 0;
          for (const [i, cost] of costs.entries()) {
            const admission = await admit(run.limits(i), key, () => run.clock.now(), spend(cost));
            if (admission.admitted) spent += cost;
            // Leased replicas may hold unused slices: a denial means it did not fit what this one could get.
            else if (name === "LocalLimits") expect(spent + cost).toBeGreaterThan(limit);
          }
          expect(spent).toBeLessThanOrEqual(limit);
        } finally {
          await run.close();
        }
      }),
      { numRuns: 30 },
    );
  });
});
