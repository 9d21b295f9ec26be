import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { billingMonth, estimatedCost } from "../../../src/admin/usage/billing.js";

const NOW = Date.UTC(2031, 2, 15, 12); // 2031-03-15

function refusal(period: string): string {
  try {
    billingMonth(period, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    return (error as ConnectError).rawMessage;
  }
  throw new Error(`${period} was accepted`);
}

describe("billing period", () => {
  it("is a calendar month that has begun, the current one included", () => {
    expect(billingMonth("2031-03", NOW)).toEqual({ from: "2031-03-01", to: "2031-03-31" });
    expect(billingMonth("2031-02", NOW)).toEqual({ from: "2031-02-01", to: "2031-02-28" });
    expect(billingMonth("2028-02", NOW)).toEqual({ from: "2028-02-01", to: "2028-02-29" });
    expect(billingMonth("2030-12", NOW)).toEqual({ from: "2030-12-01", to: "2030-12-31" });
  });

  it.each(["2031-3", "2031-13", "2031-00", "31-03", "2031/03", "2031-03-01", " 2031-03", "", "0099-01", "march"])(
    "refuses %j naming billing_period",
    (period) => {
      expect(refusal(period)).toMatch(/^billing_period: must be a month as YYYY-MM/);
    },
  );

  it("refuses a month in the future", () => {
    expect(refusal("2031-04")).toBe("billing_period: 2031-04 is in the future");
    expect(refusal("2099-01")).toBe("billing_period: 2099-01 is in the future");
  });
});

describe("estimated cost", () => {
  const plan = { pricePerThousandRequests: 50, pricePerMegabyte: 1 };

  it("prices requests per 1,000 and bytes per MB in integer minor units, rounding once, half up", () => {
    expect(estimatedCost(0, 0, plan)).toBe(0n);
    expect(estimatedCost(1_000, 0, plan)).toBe(50n);
    expect(estimatedCost(10, 0, plan)).toBe(1n); // 0.5 rounds up
    expect(estimatedCost(9, 0, plan)).toBe(0n); // 0.45 rounds down
    expect(estimatedCost(9, 50_000, plan)).toBe(1n); // 0.45 + 0.05: rounded once, not per part
    expect(estimatedCost(0, 2_500_000, plan)).toBe(3n);
    expect(estimatedCost(1_234_567, 7_654_321, { pricePerThousandRequests: 20, pricePerMegabyte: 3 })).toBe(24_714n); // 24691.34 + 22.96 = 24714.30
  });

  it("stays exact far beyond floating-point precision", () => {
    const huge = Number.MAX_SAFE_INTEGER;
    expect(estimatedCost(huge, huge, { pricePerThousandRequests: 999, pricePerMegabyte: 999 })).toBe(
      (BigInt(huge) * 999n * 1000n + BigInt(huge) * 999n + 500_000n) / 1_000_000n,
    );
  });
});
