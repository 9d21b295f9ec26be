import { describe, expect, it } from "vitest";
import type { Spend } from "../../src/limits/check-limits.js";
import { identityCreditLine, keyCreditLine } from "../../src/limits/credit-lines.js";
import { systemClock } from "../../src/time/clock.js";
import { twoReplicasOnMongo } from "./mongo-fleet.js";
import { admit, verdict } from "./named-limits-fleet.js";

/**
 * Credits across two replicas over MongoDB: two LeasedLimits, each with a client of its own, on
 * one database. Most balances here have no refill: their window runs from setAt without end, so
 * the real clock never rolls one during the test. The refill's own boundary is crossed on a
 * ManualClock (credits.test.ts); here, the window a refill opened is counted once by the fleet.
 */

const now = () => systemClock.now();
const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const spend = (identity: Spend["identity"] = null): Spend => ({ cost: 1, only: null, identity });

describe("credits across two replicas over MongoDB", () => {
  const fleet = twoReplicasOnMongo();

  it("the fleet spends exactly an identity's balance in a concurrent burst over both replicas and two keys", async () => {
    const identity = { id: "idt_burst", limits: [], credits: { remaining: 9, refill: null, setAt: new Date(now() - 60_000) } };
    const keys = ["key_a", "key_b"].map((id) => ({ id, organizationId: "org_1", rateLimit: null, identityId: identity.id }));
    const line = identityCreditLine("org_1", identity, now())!;
    expect(await fleet()[0]!.creditsLeft(line)).toBe(9);
    const burst = () => Promise.all(Array.from({ length: 16 }, (_, i) => admit(fleet()[i % 2]!, keys[(i >> 1) % 2]!, now, spend(identity)).then(verdict)));
    const first = await burst();
    const second = await burst();
    const verdicts = [...first, ...second];
    expect(verdicts.filter((v) => v === "admitted")).toHaveLength(9);
    expect(new Set(verdicts.filter((v) => v !== "admitted"))).toEqual(new Set(["CREDITS_EXHAUSTED identity"]));
    expect(await fleet()[1]!.creditsLeft(line)).toBe(0);
  });

  it("a debit spends what its replica holds, then the store's rest; the fleet then spends exactly what is left", async () => {
    const credits = { remaining: 12, refill: null, setAt: new Date(now() - 60_000) };
    const key = { id: "key_debit", organizationId: "org_1", rateLimit: null, credits };
    expect(verdict(await admit(fleet()[1]!, key, now))).toBe("admitted");
    // Replica 1 holds a slice now: the debit takes from it first, then from what no replica holds.
    await fleet()[1]!.debitCredits(key, null, 5);
    const verdicts = [];
    for (let i = 0; i < 12; i++) verdicts.push(verdict(await admit(fleet()[i % 2]!, key, now)));
    expect(verdicts.filter((v) => v === "admitted")).toHaveLength(12 - 1 - 5);
    // A debit beyond what is left takes what is left, no more: a new balance owes nothing.
    await fleet()[1]!.debitCredits(key, null, 100);
    const renewed = { ...key, credits: { ...credits, remaining: 3, setAt: new Date(now()) } };
    const after = [];
    for (let i = 0; i < 6; i++) after.push(verdict(await admit(fleet()[i % 2]!, renewed, now)));
    expect(after.filter((v) => v === "admitted")).toHaveLength(3);
  });

  it("a refill is counted once by the fleet: today's window allows the refill amount, on both replicas together", async () => {
    // Not across midnight UTC, where today's window would end mid-test.
    const toMidnight = DAY_MS - (now() % DAY_MS);
    if (toMidnight < 30_000) await sleep(toMidnight + 1_000);
    // Set yesterday, with 3 then; refilled to 5 at today's 00:00 UTC.
    const credits = { remaining: 3, refill: { amount: 5, interval: "daily" as const, day: 1 }, setAt: new Date(now() - DAY_MS) };
    const key = { id: "key_refilled", organizationId: "org_1", rateLimit: null, credits };
    const verdicts = await Promise.all(Array.from({ length: 16 }, (_, i) => admit(fleet()[i % 2]!, key, now).then(verdict)));
    expect(verdicts.filter((v) => v === "admitted")).toHaveLength(5);
    expect(new Set(verdicts.filter((v) => v !== "admitted"))).toEqual(new Set(["CREDITS_EXHAUSTED key"]));
    const today = keyCreditLine(key, now())!;
    expect(today).toMatchObject({ startMs: now() - (now() % DAY_MS), limit: 5 });
    expect(await fleet()[0]!.creditsLeft(today)).toBe(0);
  });
});
