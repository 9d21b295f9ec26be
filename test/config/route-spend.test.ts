import { describe, expect, it } from "vitest";
import { parseRoutes } from "../../src/config/route-rules.js";
import { MAX_COST, parseCost, parseLimitNames } from "../../src/config/route-spend.js";

/** A route's cost and limits: the same rules from Envoy's context_extensions and from the route table, the table's checked at start. */

describe("route spend", () => {
  it.each([
    ["1", 1],
    [" 5 ", 5],
    [String(MAX_COST), MAX_COST],
    [7, 7],
  ])("cost %j is %j", (value, cost) => {
    expect(parseCost(value)).toBe(cost);
  });

  it.each(["0", "-1", "1.5", "1e3", "", "abc", String(MAX_COST + 1), 0, 2.5, null, true])("cost %j is refused", (value) => {
    expect(parseCost(value)).toEqual({ error: `cost must be a whole number from 1 to ${MAX_COST}` });
  });

  it("limit names: space-separated from Envoy, an array in the table, each once", () => {
    expect(parseLimitNames("hourly  default hourly")).toEqual(["hourly", "default"]);
    expect(parseLimitNames(["tokens", "v1.daily"])).toEqual(["tokens", "v1.daily"]);
    for (const bad of ["", "   ", "a:b", "x".repeat(65), [], [3], Array.from({ length: 33 }, (_, i) => `l${i}`)]) expect(parseLimitNames(bad)).toHaveProperty("error");
  });

  it("the route table takes cost and limits, and refuses them malformed at start", () => {
    expect(parseRoutes([{ method: "POST", path: "/v1/generate", scopes: [], cost: 10, limits: ["tokens"] }], [])).toEqual([
      { method: "POST", path: "/v1/generate", scopes: [], cost: 10, limits: ["tokens"] },
    ]);
    expect(() => parseRoutes([{ path: "/a", scopes: [], cost: 0 }], [])).toThrow(/route 0: cost must be a whole number from 1 to 1000000/);
    expect(() => parseRoutes([{ path: "/a", scopes: [], limits: "tokens" }], [])).toThrow(/route 0: limits must be an array of limit names/);
    expect(() => parseRoutes([{ path: "/a", scopes: [], limits: ["no spaces"] }], [])).toThrow(/route 0: limits must name 1 to 32 limits/);
  });
});
