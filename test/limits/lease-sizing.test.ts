import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asksAhead, lowWater, RATE_TIME_CONSTANT_MS, RateEstimate, unitsToAsk, type SliceInputs } from "../../src/limits/lease-sizing.js";

const base: SliceInputs = { unleased: 1_000, holders: 1, ratePerSecond: 0, windowLeftMs: 60_000, waiting: 0, available: 0 };

describe("unitsToAsk", () => {
  it.each<[string, Partial<SliceInputs>, number]>([
    ["a first request of a quiet bucket asks for itself alone", { waiting: 1 }, 1],
    ["Checks already waiting are demand, whatever the forecast", { waiting: 40 }, 40],
    ["waiting Checks beyond the fair share still get their units asked for", { unleased: 20, holders: 2, waiting: 15 }, 15],
    ["a hot bucket asks for fifteen seconds of its rate: enough to ride out an election", { unleased: 10_000, ratePerSecond: 100 }, 1_500],
    ["never more than half a fair share of what the fleet has not leased", { ratePerSecond: 10_000, holders: 4 }, 125],
    ["a small limit gets slices of one, asked only for a Check that waits", { unleased: 3, holders: 2, ratePerSecond: 50, waiting: 1 }, 1],
    ["with little left unleased nothing is asked ahead", { unleased: 7, holders: 2, ratePerSecond: 50 }, 0],
    ["near the window's end it asks only for what is left of it", { ratePerSecond: 100, windowLeftMs: 300 }, 30],
    ["slices shrink as the window fills", { unleased: 40, holders: 2, ratePerSecond: 100 }, 10],
    ["what is held counts against the ask", { unleased: 10_000, ratePerSecond: 50, available: 120 }, 630],
    ["nothing when enough is held", { ratePerSecond: 10, available: 160, waiting: 2 }, 0],
  ])("%s", (_title, inputs, units) => {
    expect(unitsToAsk({ ...base, ...inputs })).toBe(units);
  });

  it("is never negative, never below the uncovered waiting Checks, and never above their need or the fair cap", () => {
    fc.assert(
      fc.property(
        fc.record({
          unleased: fc.integer({ min: 0, max: 1_000_000 }),
          holders: fc.integer({ min: 1, max: 64 }),
          ratePerSecond: fc.double({ min: 0, max: 1e6, noNaN: true }),
          windowLeftMs: fc.integer({ min: 0, max: 31 * 86_400_000 }),
          waiting: fc.integer({ min: 0, max: 10_000 }),
          available: fc.integer({ min: 0, max: 10_000 }),
        }),
        (inputs) => {
          const units = unitsToAsk(inputs);
          expect(units).toBeGreaterThanOrEqual(0);
          expect(units).toBeGreaterThanOrEqual(inputs.waiting - inputs.available);
          const fair = Math.max(1, Math.floor(inputs.unleased / (2 * inputs.holders)));
          expect(units).toBeLessThanOrEqual(Math.max(inputs.waiting, fair));
        },
      ),
    );
  });
});

describe("lowWater, asking ahead and the rate estimate", () => {
  it("asks ahead only while a few units per replica are left unleased", () => {
    expect(asksAhead(1_000, 3)).toBe(true);
    expect(asksAhead(12, 3)).toBe(true);
    expect(asksAhead(11, 3)).toBe(false);
    expect(asksAhead(0, 1)).toBe(false);
  });

  it("asks ahead with at least one unit left, more for a busy bucket", () => {
    expect(lowWater(0)).toBe(1);
    expect(lowWater(2)).toBe(1);
    expect(lowWater(1_000)).toBe(250);
  });

  it("a steady rate is estimated close to itself, and an idle bucket decays to nothing", () => {
    const rate = new RateEstimate();
    expect(rate.at(0)).toBe(0);
    // 50 requests a second for 30 s.
    for (let ms = 0; ms < 30_000; ms += 20) rate.add(ms);
    expect(rate.at(30_000)).toBeGreaterThan(48);
    expect(rate.at(30_000)).toBeLessThan(52);
    expect(rate.at(30_000 + 10 * RATE_TIME_CONSTANT_MS)).toBeLessThan(0.01);
  });

  it("a bucket that just turned hot is seen as hot within a second; one request alone reads as about one a second", () => {
    const rate = new RateEstimate();
    for (let ms = 0; ms < 1_000; ms++) rate.add(ms); // 1,000 a second
    expect(rate.at(1_000)).toBeGreaterThan(900);
    expect(rate.at(1_000)).toBeLessThan(1_100);
    const once = new RateEstimate();
    once.add(0);
    expect(once.at(0)).toBeGreaterThan(0.9);
    expect(once.at(0)).toBeLessThan(1.2);
  });
});
