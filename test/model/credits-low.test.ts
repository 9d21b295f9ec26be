import { describe, expect, it } from "vitest";
import { creditsLow } from "../../src/model/credits-low.js";

describe("creditsLow", () => {
  it.each([
    // limit, left, percent, low
    [100, 11, 10, false],
    [100, 10, 10, true],
    [100, 0, 10, true],
    [100, 100, 100, true],
    [100, 100, 99, false],
    [1_000, 1, 1, true],
    [1_000, 10, 1, true],
    [1_000, 11, 1, false],
    // Whole numbers, no rounding: 3 of 7 is 42.9%.
    [7, 3, 42, false],
    [7, 3, 43, true],
    // 0: the organization asked for no event.
    [100, 0, 0, false],
    // A window that allows nothing has nothing to fall from.
    [0, 0, 10, false],
  ])("limit %i, %i left, at %i%%: low %s", (limit, left, percent, low) => {
    expect(creditsLow(limit, left, percent)).toBe(low);
  });
});
