import { describe, expect, it } from "vitest";
import type { Spend } from "../../src/limits/check-limits.js";
import { systemClock } from "../../src/time/clock.js";
import { twoReplicasOnMongo } from "./mongo-fleet.js";
import { admit, verdict } from "./named-limits-fleet.js";

/**
 * Named limits, cost and identities across two replicas over MongoDB: two LeasedLimits, each
 * with a client of its own, on one database. Windows follow the primary's clock, so every limit
 * here is per day: no window rolls during the test.
 */

const spend = (cost: number, identity: Spend["identity"] = null, only: readonly string[] | null = null): Spend => ({ cost, only, identity });
const now = () => systemClock.now();

describe("named limits across two replicas over MongoDB", () => {
  const fleet = twoReplicasOnMongo();

  it("two keys of one identity share its limit exactly, in a burst over both replicas", async () => {
    const identity = { id: "idt_burst", limits: [{ name: "team", limit: 7, period: "day" as const }] };
    const keys = ["key_a", "key_b"].map((id) => ({ id, organizationId: "org_1", rateLimit: { limit: 1_000, period: "day" as const }, identityId: identity.id }));
    const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => admit(fleet()[i % 2]!, keys[(i >> 1) % 2]!, now, spend(1, identity)).then(verdict)));
    expect(verdicts.filter((v) => v === "admitted")).toHaveLength(7);
    expect(new Set(verdicts.filter((v) => v !== "admitted"))).toEqual(new Set(["RATE_LIMITED identity:team"]));
  });

  it("a key's two limits: whichever runs out first denies, and the denial names it", async () => {
    const tight = { id: "key_tight", organizationId: "org_1", rateLimit: null, limits: [{ name: "small", limit: 3, period: "day" as const }, { name: "large", limit: 7, period: "day" as const }] };
    const loose = { ...tight, id: "key_loose", limits: [{ name: "small", limit: 7, period: "day" as const }, { name: "large", limit: 2, period: "day" as const }] };
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(verdict(await admit(fleet()[i % 2]!, tight, now)));
    for (let i = 0; i < 4; i++) verdicts.push(verdict(await admit(fleet()[i % 2]!, loose, now)));
    expect(verdicts).toEqual([
      ...["admitted", "admitted", "admitted", "RATE_LIMITED key:small", "RATE_LIMITED key:small"],
      ...["admitted", "admitted", "RATE_LIMITED key:large", "RATE_LIMITED key:large"],
    ]);
  });

  it("a request of cost 3 spends 3 on the key's limit and its identity's, on either replica", async () => {
    const identity = { id: "idt_cost", limits: [{ name: "team", limit: 6, period: "day" as const }] };
    const key = { id: "key_cost", organizationId: "org_1", rateLimit: { limit: 7, period: "day" as const }, identityId: identity.id };
    expect(await admit(fleet()[0]!, key, now, spend(3, identity))).toMatchObject({ admitted: true, line: { owner: "identity" }, state: { remaining: 3 } });
    expect(verdict(await admit(fleet()[1]!, key, now, spend(3, identity)))).toBe("admitted");
    expect(verdict(await admit(fleet()[0]!, key, now, spend(1, identity, ["team"])))).toBe("RATE_LIMITED identity:team");
    expect(verdict(await admit(fleet()[0]!, key, now, spend(1, identity, ["default"])))).toBe("admitted");
    expect(verdict(await admit(fleet()[1]!, key, now, spend(1, identity, ["default"])))).toBe("RATE_LIMITED key:default");
  });
});
