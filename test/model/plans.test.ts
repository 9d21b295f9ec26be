import { describe, expect, it } from "vitest";
import { DEFAULT_PLANS, defaultPlanOf, findPlan, organizationPlan } from "../../src/model/plans.js";

/** One lookup of a plan by name, and one rule for an organization whose plan is not configured. */
const CATALOG = { plans: DEFAULT_PLANS, defaultPlan: "pro" };

describe("plans", () => {
  it("a name finds its configured plan, or nothing", () => {
    expect(findPlan(DEFAULT_PLANS, "free")?.name).toBe("free");
    expect(findPlan(DEFAULT_PLANS, "retired")).toBeUndefined();
    expect(findPlan(DEFAULT_PLANS, "")).toBeUndefined();
  });

  it("an organization is held to its own plan, or to the default one when its plan is not configured or it is gone", () => {
    expect(organizationPlan(CATALOG, "free").name).toBe("free");
    expect(organizationPlan(CATALOG, "retired").name).toBe("pro");
    expect(organizationPlan(CATALOG, undefined).name).toBe("pro");
  });

  it("a default plan that is not configured is a fault, not a silent choice", () => {
    expect(defaultPlanOf(CATALOG).name).toBe("pro");
    expect(() => defaultPlanOf({ plans: DEFAULT_PLANS, defaultPlan: "retired" })).toThrow(/default plan retired is not configured/);
  });
});
