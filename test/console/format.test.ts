import { describe, expect, it } from "vitest";
import { formatGrowth, formatResponseTime } from "../../web/src/format.js";

/** Figures the console must not make up: a growth from nothing, a response time nobody measured. */
describe("console figures", () => {
  it.each([
    [0, 0n, 0n, "—"],
    [0, 0n, 12n, "new"],
    [0, 12n, 12n, "+0.0%"],
    [266.67, 3n, 11n, "+266.7%"],
    [-100, 5n, 0n, "-100.0%"],
  ])("growth %d% from %d to %d reads %s", (percent, previous, current, text) => {
    expect(formatGrowth(percent, previous, current)).toBe(text);
  });

  it("shows a dash, not 0.0 ms, without response times", () => {
    expect(formatResponseTime(0)).toBe("—");
    expect(formatResponseTime(150)).toBe("150.0 ms");
  });
});
