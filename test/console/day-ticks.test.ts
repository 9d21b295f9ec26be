import { describe, expect, it } from "vitest";
import { dayTicks, shortDay } from "../../web/src/day-ticks.js";

/** The chart's x-axis labels: never closer than a label's width, the latest day always labelled. */
describe("day ticks", () => {
  it.each([
    [30, 330, 56],
    [30, 1100, 56],
    [7, 330, 56],
    [1, 330, 56],
    [31, 200, 56],
    [365, 330, 56],
  ])("%i days across %i px leave every label %i px of room", (count, width, label) => {
    const ticks = dayTicks(count, width, label);
    expect(ticks.at(-1)).toBe(count - 1);
    const perDay = width / count;
    for (let i = 1; i < ticks.length; i++) expect((ticks[i]! - ticks[i - 1]!) * perDay).toBeGreaterThanOrEqual(label);
  });

  it("labels every day when there is room, and fewer on a phone", () => {
    expect(dayTicks(7, 1100, 56)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(dayTicks(30, 330, 56)).toEqual([1, 8, 15, 22, 29]);
    expect(dayTicks(0, 330, 56)).toEqual([]);
  });

  it("writes days short, in UTC", () => {
    expect(shortDay("2031-03-14")).toBe("Mar 14");
    expect(shortDay("2031-12-31")).toBe("Dec 31");
  });
});
