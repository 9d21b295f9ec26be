import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lowWater, RATE_TIME_CONSTANT_MS, RateEstimate, unitsToAsk, type SliceInputs } from "../../src/limits/lease-sizing.js";

const base: SliceInputs = { limit: 1_000, holders: 1, ratePerSecond: 0, windowLeftMs: 60_000, waiting: 0, available: 0 };

describe("unitsToAsk", () => {
  it.each<[string, Partial<SliceInputs>, number]>([
    ["a first request of a quiet bucket asks for itself alone", { waiting: 1 }, 1],
    ["Checks already waiting are demand, whatever the forecast", { waiting: 40 }, 40],
    ["waiting Checks beyond the fair share still get their units asked for", { limit: 20, holders: 2, waiting: 15 }, 15],
    ["a hot bucket asks for five seconds of its rate", { ratePerSecond: 100 }, 500],
    ["never more than half a fair share of the limit", { ratePerSecond: 10_000, holders: 4 }, 125],
    ["a small limit gets slices of one", { limit: 3, holders: 2, ratePerSecond: 50 }, 1],
    ["near the window's end it asks only for what is left of it", { ratePerSecond: 100, windowLeftMs: 300 }, 30],
    ["what is held counts against the ask", { ratePerSecond: 100, available: 120 }, 380],
    ["nothing when enough is held", { ratePerSecond: 10, available: 80, waiting: 2 }, 0],
  ])("%s", (_title, inputs, units) => {
    expect(unitsToAsk({ ...base, ...inputs })).toBe(units);
  });

  it("is never negative, never below the uncovered waiting Checks, and never above their need or the fair cap", () => {
    fc.assert(
      fc.property(
        fc.record({
          limit: fc.integer({ min: 1, max: 1_000_000 }),
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
          const fair = Math.max(1, Math.floor(inputs.limit / (2 * inputs.holders)));
          expect(units).toBeLessThanOrEqual(Math.max(inputs.waiting, fair));
        },
      ),
    );
  });
});

describe("lowWater and the rate estimate", () => {
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

  it("a bucket that just turned hot is seen as hot within half a second", () => {
    const rate = new RateEstimate();
    for (let ms = 0; ms < 500; ms++) rate.add(ms); // 1,000 a second
    expect(rate.at(500)).toBeGreaterThan(900);
    expect(rate.at(500)).toBeLessThan(1_100);
  });
});
