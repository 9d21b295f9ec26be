import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { creditWindowAt } from "../../src/limits/credit-windows.js";
import type { Credits, CreditRefill } from "../../src/model/identities.js";

const at = (iso: string) => Date.parse(iso);
const credits = (setAt: string, refill: CreditRefill | null, remaining = 100): Credits => ({ remaining, refill, setAt: new Date(setAt) });
const monthly = (day: number): CreditRefill => ({ amount: 1_000, interval: "monthly", day });
const daily: CreditRefill = { amount: 50, interval: "daily", day: 0 };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("creditWindowAt", () => {
  it.each([
    // [what, credits, now, start, end, limit]
    ["no refill: from setAt, unending", credits("2026-03-10T12:00:00Z", null), "2027-01-01T00:00:00Z", "2026-03-10T12:00:00.000Z", null, 100],
    ["daily, the day of setAt: counted from setAt", credits("2026-03-10T12:00:00Z", daily), "2026-03-10T23:59:59Z", "2026-03-10T12:00:00.000Z", "2026-03-11T00:00:00.000Z", 100],
    ["daily, a later day: the refill", credits("2026-03-10T12:00:00Z", daily), "2026-03-12T00:00:00Z", "2026-03-12T00:00:00.000Z", "2026-03-13T00:00:00.000Z", 50],
    ["monthly on the 15th, before the first refill", credits("2026-03-10T12:00:00Z", monthly(15)), "2026-03-14T23:59:59.999Z", "2026-03-10T12:00:00.000Z", "2026-03-15T00:00:00.000Z", 100],
    ["monthly on the 15th, at the refill", credits("2026-03-10T12:00:00Z", monthly(15)), "2026-03-15T00:00:00Z", "2026-03-15T00:00:00.000Z", "2026-04-15T00:00:00.000Z", 1_000],
    ["monthly on the 15th, early in the next month", credits("2026-03-10T12:00:00Z", monthly(15)), "2026-05-02T00:00:00Z", "2026-04-15T00:00:00.000Z", "2026-05-15T00:00:00.000Z", 1_000],
    ["monthly on the 31st: February's last day", credits("2026-01-05T00:00:00Z", monthly(31)), "2026-02-28T00:00:00Z", "2026-02-28T00:00:00.000Z", "2026-03-31T00:00:00.000Z", 1_000],
    ["monthly on the 31st: April's 30th", credits("2026-01-05T00:00:00Z", monthly(31)), "2026-04-30T10:00:00Z", "2026-04-30T00:00:00.000Z", "2026-05-31T00:00:00.000Z", 1_000],
    ["monthly on the 31st: a leap February", credits("2028-01-05T00:00:00Z", monthly(31)), "2028-03-01T00:00:00Z", "2028-02-29T00:00:00.000Z", "2028-03-31T00:00:00.000Z", 1_000],
    ["monthly on the 1st, across the year's end", credits("2026-11-20T00:00:00Z", monthly(1)), "2027-01-01T00:00:00Z", "2027-01-01T00:00:00.000Z", "2027-02-01T00:00:00.000Z", 1_000],
    ["set exactly at a refill: the balance set wins", credits("2026-03-15T00:00:00Z", monthly(15)), "2026-03-20T00:00:00Z", "2026-03-15T00:00:00.000Z", "2026-04-15T00:00:00.000Z", 100],
    ["a time before setAt (a clock behind): setAt's window", credits("2026-03-10T12:00:00Z", daily), "2026-03-09T00:00:00Z", "2026-03-10T12:00:00.000Z", "2026-03-11T00:00:00.000Z", 100],
  ] as const)("%s", (_, given, now, start, end, limit) => {
    const window = creditWindowAt(given, at(now));
    expect({ start: iso(window.startMs), end: iso(window.endMs), limit: window.limit }).toEqual({ start, end, limit });
  });

  const refills = fc.oneof(
    fc.constant(daily),
    fc.integer({ min: 1, max: 31 }).map(monthly),
  );
  const instant = fc.integer({ min: at("2020-01-01T00:00:00Z"), max: at("2035-01-01T00:00:00Z") });

  it("with a refill, the windows tile time: each holds its time, the next starts where it ends, and only setAt's allows `remaining`", () => {
    fc.assert(
      fc.property(refills, instant, fc.integer({ min: 0, max: 400 * 86_400_000 }), (refill, setAtMs, afterMs) => {
        const given: Credits = { remaining: 7, refill, setAt: new Date(setAtMs) };
        const nowMs = setAtMs + afterMs;
        const window = creditWindowAt(given, nowMs);
        expect(window.startMs).toBeLessThanOrEqual(nowMs);
        expect(window.endMs!).toBeGreaterThan(nowMs);
        expect(window.startMs).toBeGreaterThanOrEqual(setAtMs);
        expect(window.limit).toBe(window.startMs === setAtMs ? 7 : refill.amount);
        const next = creditWindowAt(given, window.endMs!);
        expect(next.startMs).toBe(window.endMs);
        expect(next.limit).toBe(refill.amount);
        // Every refill falls on 00:00 UTC, on the refill day or the month's last when shorter.
        const end = new Date(window.endMs!);
        expect(window.endMs! % 86_400_000).toBe(0);
        if (refill.interval === "monthly") {
          const lastDay = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 0)).getUTCDate();
          expect(end.getUTCDate()).toBe(Math.min(refill.day, lastDay));
        }
        // A refill interval never runs longer than a month, nor shorter than a day.
        expect(next.endMs! - next.startMs).toBeGreaterThanOrEqual(86_400_000);
        expect(next.endMs! - next.startMs).toBeLessThanOrEqual(31 * 86_400_000);
      }),
      { numRuns: 2_000 },
    );
  });
});
