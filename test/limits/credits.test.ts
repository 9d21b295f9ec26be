import { afterEach, describe, expect, it } from "vitest";
import type { Spend } from "../../src/limits/check-limits.js";
import { NO_CREDIT_BALANCES } from "../../src/limits/credit-lines.js";
import type { Credits } from "../../src/model/identities.js";
import { LeasedLimits } from "../../src/limits/leased-limits.js";
import { createLogger } from "../../src/log/logger.js";
import { MemoryBudgetLeases } from "../../src/store/memory/budget-leases.js";
import { MemoryReplicaRegistry } from "../../src/store/memory/replica-registry.js";
import { ManualClock } from "../../src/time/clock.js";
import { ControlledLeases } from "./leased-fleet.js";
import { admit, leasedSetup, localSetup, verdict, type FleetSetup } from "./named-limits-fleet.js";

/**
 * Credits in both CheckLimits: LocalLimits (the embedded store), and two LeasedLimits replicas on
 * one embedded lease store, all on one ManualClock, so a refill comes only when the test says.
 */

const START = Date.UTC(2026, 0, 15, 12, 0, 0);
const DAY = 86_400_000;
const spend = (cost: number, identity: Spend["identity"] = null): Spend => ({ cost, only: null, identity });

describe.each([
  ["LocalLimits", () => localSetup(START)],
  ["two LeasedLimits replicas", () => leasedSetup(START)],
])("credits in %s", (_, make) => {
  let setup: FleetSetup | undefined;
  afterEach(async () => {
    await setup?.close();
    setup = undefined;
  });

  /**
   * Units spent by `count` requests of `cost`, spread over the replicas (a denial on one does not
   * stop the others: each may hold a slice of the balance), and the last denial.
   */
  async function spendAll(key: Parameters<typeof admit>[1], cost: number, identity: Spend["identity"] = null, count = 24) {
    const { clock, limits } = setup!;
    let spent = 0;
    let denial: Awaited<ReturnType<typeof admit>> | null = null;
    for (let i = 0; i < count; i++) {
      const admission = await admit(limits(i), key, () => clock.now(), spend(cost, identity));
      if (admission.admitted) spent += cost;
      else denial = admission;
    }
    return { spent, denial };
  }

  it("run out at exactly zero with costs: never more than the balance, and what cost-3 requests leave, cost-1 ones spend", async () => {
    setup = await make();
    const credits: Credits = { remaining: 10, refill: null, setAt: new Date(START - 1_000) };
    const key = { id: "key_c", organizationId: "org_1", rateLimit: null, credits };
    const big = await spendAll(key, 3);
    // One process spends 9; replicas may each be left a slice smaller than the cost (docs/limits.md).
    expect(big.spent).toBeLessThanOrEqual(9);
    expect(big.spent).toBeGreaterThanOrEqual(10 - 2 * 2);
    expect(big.denial).toMatchObject({ reason: "CREDITS_EXHAUSTED", credit: { owner: "key", endMs: null, limit: 10 } });
    expect((await spendAll(key, 1)).spent).toBe(10 - big.spent);
  });

  it("refill once at the boundary, to the refill amount, whatever the replicas", async () => {
    setup = await make();
    const { clock } = setup;
    const credits: Credits = { remaining: 4, refill: { amount: 6, interval: "daily", day: 0 }, setAt: new Date(START) };
    const key = { id: "key_r", organizationId: "org_1", rateLimit: null, credits };
    const refillAt = Date.UTC(2026, 0, 16);
    const first = await spendAll(key, 1);
    expect(first.spent).toBe(4);
    expect(first.denial).toMatchObject({ reason: "CREDITS_EXHAUSTED", credit: { endMs: refillAt } });
    clock.set(refillAt - 1);
    expect((await spendAll(key, 1)).spent).toBe(0);
    clock.set(refillAt);
    expect((await spendAll(key, 1)).spent).toBe(6);
    clock.set(refillAt + DAY - 1);
    expect((await spendAll(key, 1)).spent).toBe(0);
    clock.set(refillAt + DAY);
    expect((await spendAll(key, 1)).spent).toBe(6);
  });

  it("a balance set anew starts a fresh count; the same balance kept does not", async () => {
    setup = await make();
    const credits: Credits = { remaining: 3, refill: null, setAt: new Date(START) };
    const key = { id: "key_n", organizationId: "org_1", rateLimit: null, credits };
    expect((await spendAll(key, 1)).spent).toBe(3);
    expect((await spendAll({ ...key, credits: { ...credits } }, 1)).spent).toBe(0);
    setup.clock.advance(1_000);
    const renewed = { ...key, credits: { remaining: 5, refill: null, setAt: new Date(setup.clock.now()) } };
    expect((await spendAll(renewed, 1)).spent).toBe(5);
  });

  it("an identity's credits are shared by its keys, and the denial says they are the identity's", async () => {
    setup = await make();
    const identity = { id: "idt_shared", limits: [], credits: { remaining: 7, refill: null, setAt: new Date(START) } };
    const keys = ["key_x", "key_y"].map((id) => ({ id, organizationId: "org_1", rateLimit: null, identityId: identity.id }));
    const { clock, limits } = setup;
    const verdicts = [];
    for (let i = 0; i < 10; i++) verdicts.push(verdict(await admit(limits(i), keys[(i >> 1) % 2]!, () => clock.now(), spend(1, identity))));
    expect(verdicts.filter((v) => v === "admitted")).toHaveLength(7);
    expect(verdicts.slice(7)).toEqual(["CREDITS_EXHAUSTED identity", "CREDITS_EXHAUSTED identity", "CREDITS_EXHAUSTED identity"]);
  });

  it("a key's own balance and its identity's: each request spends both, the first to run out denies", async () => {
    setup = await make();
    const identity = { id: "idt_both", limits: [], credits: { remaining: 100, refill: null, setAt: new Date(START) } };
    const key = { id: "key_both", organizationId: "org_1", rateLimit: null, identityId: identity.id, credits: { remaining: 4, refill: null, setAt: new Date(START) } };
    const denied = await spendAll(key, 1, identity);
    expect(denied.spent).toBe(4);
    expect(verdict(denied.denial!)).toBe("CREDITS_EXHAUSTED key");
    const other = { id: "key_other", organizationId: "org_1", rateLimit: null, identityId: identity.id };
    expect((await spendAll(other, 1, identity, 120)).spent).toBe(96);
  });

  it("report what each balance has left after an admitted request, and what the one that ran out has (for key.credits_low)", async () => {
    setup = await make();
    const { clock, limits } = setup;
    const identity = { id: "idt_left", limits: [], credits: { remaining: 5, refill: null, setAt: new Date(START) } };
    const key = { id: "key_left", organizationId: "org_1", rateLimit: null, identityId: identity.id, credits: { remaining: 10, refill: null, setAt: new Date(START) } };
    // One replica only: no other holds a slice, so what it knows is left is exact.
    const one = limits(0);
    expect(await admit(one, key, () => clock.now(), spend(2, identity))).toMatchObject({
      admitted: true,
      credits: [
        { line: { owner: "key", limit: 10 }, left: 8 },
        { line: { owner: "identity", limit: 5 }, left: 3 },
      ],
    });
    expect(await admit(one, key, () => clock.now(), spend(3, identity))).toMatchObject({ credits: [{ left: 5 }, { left: 0 }] });
    expect(await admit(one, key, () => clock.now(), spend(1, identity))).toMatchObject({ reason: "CREDITS_EXHAUSTED", credit: { owner: "identity" }, left: 0 });
    // A key without credits is handed the one shared empty list: nothing allocated for it.
    const plain = await admit(one, { id: "key_plain", organizationId: "org_1", rateLimit: null }, () => clock.now());
    expect(plain.admitted && plain.credits).toBe(NO_CREDIT_BALANCES);
  });

  it("a debit spends down to zero, never below, and the next Check sees it", async () => {
    setup = await make();
    const { clock, limits } = setup;
    const credits: Credits = { remaining: 20, refill: null, setAt: new Date(START) };
    const key = { id: "key_d", organizationId: "org_1", rateLimit: null, credits };
    await limits(0).debitCredits(key, null, 15, clock.now());
    expect((await spendAll(key, 1)).spent).toBe(5);
    // Nothing left: a debit takes nothing more, and a new balance is not in debt for it.
    await limits(1).debitCredits(key, null, 50, clock.now());
    const renewed = { ...key, credits: { ...credits, remaining: 2, setAt: new Date(START + 1) } };
    expect((await spendAll(renewed, 1)).spent).toBe(2);
  });
});

describe("credits on a replica cut off from the store", () => {
  it("are admitted from the outage allowance, and no balance is reported: the replica cannot tell what is left (key.credits_low)", async () => {
    const clock = new ManualClock(START);
    const leases = new ControlledLeases(new MemoryBudgetLeases(clock));
    const replica = new LeasedLimits({
      leases,
      replicas: new MemoryReplicaRegistry(clock),
      clock,
      holder: "replica-0",
      waitMs: 1_000,
      outageAllowance: "share",
      logger: createLogger("silent"),
      loadMonthlyRequests: async () => 0,
    });
    try {
      await replica.refreshReplicas();
      leases.failing = true;
      const key = { id: "key_cut_off", organizationId: "org_1", rateLimit: null, credits: { remaining: 1, refill: null, setAt: new Date(START) } };
      // Its share of the balance (all of it, alone in the fleet) is admitted, its figure unknown.
      expect(await admit(replica, key, () => clock.now())).toMatchObject({ admitted: true, credits: [] });
      expect(await admit(replica, key, () => clock.now())).toMatchObject({ reason: "CREDITS_EXHAUSTED", left: null });
    } finally {
      leases.failing = false;
      await replica.close();
    }
  });
});
