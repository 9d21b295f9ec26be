import { describe, expect, it } from "vitest";
import { PerSourceAndTotal } from "../../src/abuse/per-source-and-total.js";

describe("PerSourceAndTotal", () => {
  it("refuses a source past its own budget without spending the total, and everyone past the total", () => {
    let now = 0;
    const bound = new PerSourceAndTotal({ perSource: 2, total: 5, windowMs: 60_000, maxSources: 100, nowMs: () => now });
    expect([bound.take("a"), bound.take("a")]).toEqual([0, 0]);
    // "a" floods: refused until its window ends, and the total the others share is untouched.
    for (let i = 0; i < 50; i++) expect(bound.take("a")).toBe(60_000);
    expect([bound.take("b"), bound.take("b"), bound.take("c")]).toEqual([0, 0, 0]);
    // The total (5) is reached: a fresh source is refused too.
    expect(bound.take("d")).toBeGreaterThan(0);
    now = 120_000;
    expect(bound.take("a")).toBe(0);
    expect(bound.take("d")).toBe(0);
  });

  it("takes back a request's place in the total on refundTotal, but not in its source's", () => {
    const bound = new PerSourceAndTotal({ perSource: 3, total: 3, windowMs: 60_000, maxSources: 100, nowMs: () => 0 });
    for (let i = 0; i < 3; i++) {
      expect(bound.take("github")).toBe(0);
      bound.refundTotal();
    }
    // Its own budget is spent; the total is not.
    expect(bound.take("github")).toBeGreaterThan(0);
    expect([bound.take("a"), bound.take("b"), bound.take("c")]).toEqual([0, 0, 0]);
    expect(bound.take("d")).toBeGreaterThan(0);
  });
});
