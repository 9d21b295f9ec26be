import { afterEach, describe, expect, it } from "vitest";
import type { LimitPeek, Spend } from "../../src/limits/check-limits.js";
import { admit, leasedSetup, localSetup, verdict, type FleetSetup } from "./named-limits-fleet.js";

/**
 * CheckLimits.peekLimits (what TestKey shows) in both implementations: every limit of a key and
 * of its identity as the next request would find it, on the buckets admit counts in, counting
 * nothing. Leased: as the replica that admitted knows it (requests go to replica 0 here).
 */

const START = Date.UTC(2026, 0, 15, 12, 0, 0, 100);
const identity = { id: "idt_peek", limits: [{ name: "team", limit: 6, period: "hour" as const }] };
const key = {
  id: "key_peek",
  organizationId: "org_1",
  rateLimit: { limit: 7, period: "minute" as const },
  limits: [{ name: "hourly", limit: 5, period: "hour" as const }],
  identityId: identity.id,
};
const spend = (cost: number, only: readonly string[] | null = null): Spend => ({ cost, only, identity });
/** Each limit as `owner:name limit/period remaining`. */
const shown = (peeks: LimitPeek[]) => peeks.map(({ line, state }) => `${line.owner}:${line.name} ${state.limit}/${line.rule!.period} ${state.remaining}`);

describe.each([
  ["LocalLimits", () => localSetup(START)],
  ["two LeasedLimits replicas", () => leasedSetup(START)],
])("peekLimits on %s", (_name, make) => {
  let setup: FleetSetup | undefined;
  afterEach(async () => {
    await setup?.close();
    setup = undefined;
  });

  it("shows the key's default, its named limits and its identity's, after what Checks spent, and spends nothing", async () => {
    setup = await make();
    const { clock, limits } = setup;
    expect(shown(limits(0).peekLimits(key, identity, clock.now()))).toEqual(["key:default 7/minute 7", "key:hourly 5/hour 5", "identity:team 6/hour 6"]);
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(2)))).toBe("admitted");
    // A route spending only the identity's limit spends the key's default too (limit-lines.ts), not its `hourly`.
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(1, ["team"])))).toBe("admitted");
    const after = ["key:default 7/minute 4", "key:hourly 5/hour 3", "identity:team 6/hour 3"];
    expect(shown(limits(0).peekLimits(key, identity, clock.now()))).toEqual(after);
    expect(shown(limits(0).peekLimits(key, identity, clock.now()))).toEqual(after);
    const [first] = limits(0).peekLimits(key, identity, clock.now());
    expect(first!.state.resetAtMs).toBeGreaterThan(clock.now());
    // Nothing was counted by the peeks: exactly what they showed is left.
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(3)))).toBe("admitted");
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(1)))).toBe("RATE_LIMITED key:hourly");
    expect(shown(limits(0).peekLimits(key, identity, clock.now()))).toEqual(["key:default 7/minute 1", "key:hourly 5/hour 0", "identity:team 6/hour 0"]);
  });

  it("finds the identity's limit by the identity, as every key of it spends it", async () => {
    setup = await make();
    const { clock, limits } = setup;
    const sibling = { id: "key_sibling", organizationId: "org_1", rateLimit: null, identityId: identity.id };
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(4)))).toBe("admitted");
    expect(shown(limits(0).peekLimits(sibling, identity, clock.now()))).toEqual(["identity:team 6/hour 2"]);
  });

  it("shows only the key's own limits without its identity, and none for a key without limits", async () => {
    setup = await make();
    const { clock, limits } = setup;
    expect(verdict(await admit(limits(0), key, () => clock.now(), spend(1)))).toBe("admitted");
    expect(shown(limits(0).peekLimits(key, null, clock.now()))).toEqual(["key:default 7/minute 6", "key:hourly 5/hour 4"]);
    expect(limits(0).peekLimits({ id: "key_bare", organizationId: "org_1", rateLimit: null }, null, clock.now())).toEqual([]);
  });
});
