import { describe, expect, it } from "vitest";
import { monthOf, monthStartUtc, nextMonthStartUtc, utcMonth } from "../../src/time/utc-days.js";

/** Calendar months in UTC: the monthly quota's window and billing's periods are the same months. */
describe("UTC months", () => {
  it("month boundaries are UTC", () => {
    expect(monthStartUtc(Date.UTC(2026, 0, 31, 23, 59, 59, 999))).toBe(Date.UTC(2026, 0, 1));
    expect(nextMonthStartUtc(Date.UTC(2026, 11, 15))).toBe(Date.UTC(2027, 0, 1));
    expect(monthStartUtc(Date.UTC(2028, 1, 29, 12))).toBe(Date.UTC(2028, 1, 1));
  });

  it("the bounds are right after moving to another month and back (the last month is kept)", () => {
    expect(nextMonthStartUtc(Date.UTC(2026, 2, 10))).toBe(Date.UTC(2026, 3, 1));
    expect(monthStartUtc(Date.UTC(2025, 10, 30))).toBe(Date.UTC(2025, 10, 1));
    expect(nextMonthStartUtc(Date.UTC(2026, 2, 31, 23, 59, 59, 999))).toBe(Date.UTC(2026, 3, 1));
    expect(monthStartUtc(Date.UTC(2026, 3, 1))).toBe(Date.UTC(2026, 3, 1));
  });

  it("a day's month runs from its first day to its last, leap years included", () => {
    expect(monthOf("2026-01-15")).toEqual({ from: "2026-01-01", to: "2026-01-31" });
    expect(monthOf("2028-02-01")).toEqual({ from: "2028-02-01", to: "2028-02-29" });
    expect(monthOf("2026-02-28")).toEqual({ from: "2026-02-01", to: "2026-02-28" });
    expect(monthOf("2026-12-31")).toEqual({ from: "2026-12-01", to: "2026-12-31" });
  });

  it("an instant's month is named YYYY-MM in UTC", () => {
    expect(utcMonth(Date.UTC(2026, 0, 31, 23, 59, 59, 999))).toBe("2026-01");
    expect(utcMonth(Date.UTC(2026, 1, 1))).toBe("2026-02");
  });
});
