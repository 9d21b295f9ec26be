import { describe, expect, it } from "vitest";
import { editDistance, nearest } from "../../src/text/edit-distance.js";

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["abc", "", 3],
    ["", "abc", 3],
    ["kitten", "sitting", 3],
    ["KEYGATE_PEPER", "KEYGATE_PEPPER", 1],
    ["KEYGATE_PORT_DATA_PLANE", "KEYGATE_DATA_PLANE_PORT", 10],
    ["flaw", "lawn", 2],
  ])("%j → %j is %i", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe("nearest", () => {
  it("picks the closest candidate, the first of equals, and nothing from nothing", () => {
    expect(nearest("KEYGATE_CACHE_TTL", ["KEYGATE_CACHE_TTL_MS", "KEYGATE_CACHE_MAX_BYTES"])).toBe("KEYGATE_CACHE_TTL_MS");
    expect(nearest("ab", ["ax", "xb"])).toBe("ax");
    expect(nearest("ab", [])).toBeUndefined();
  });
});
