import { describe, expect, it } from "vitest";
import { windowAt } from "../../src/time/budget-windows.js";

describe("budget windows", () => {
  const at = Date.UTC(2026, 1, 28, 23, 59, 59, 999);

  it.each([
    ["second", Date.UTC(2026, 1, 28, 23, 59, 59), Date.UTC(2026, 2, 1)],
    ["minute", Date.UTC(2026, 1, 28, 23, 59), Date.UTC(2026, 2, 1)],
    ["hour", Date.UTC(2026, 1, 28, 23), Date.UTC(2026, 2, 1)],
    ["day", Date.UTC(2026, 1, 28), Date.UTC(2026, 2, 1)],
    ["month", Date.UTC(2026, 1, 1), Date.UTC(2026, 2, 1)],
  ] as const)("a %s window holds the instant, from its whole unit to the next", (unit, startMs, endMs) => {
    expect(windowAt(unit, at)).toEqual({ startMs, endMs });
  });

  it("a window's end is the next window's start", () => {
    for (const unit of ["second", "minute", "hour", "day", "month"] as const) {
      const window = windowAt(unit, at);
      expect(windowAt(unit, window.endMs).startMs).toBe(window.endMs);
      expect(windowAt(unit, window.endMs - 1)).toEqual(window);
    }
  });
});
