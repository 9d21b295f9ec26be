import { describe, expect, it } from "vitest";
import { linesOf, makeLimitLines } from "../../src/limits/limit-lines.js";

/** The limits one Check spends on, in the contract's order, and the RateLimit-Policy they make. */

const PLAN = { name: "pro", requestsPerMinute: 600, monthlyQuota: 100_000 };
const KEY = {
  id: "key_1",
  organizationId: "org_1",
  rateLimit: { limit: 100, period: "minute" as const },
  limits: [
    { name: "burst", limit: 3, period: "second" as const },
    { name: "hourly", limit: 1_000, period: "hour" as const },
  ],
};
const IDENTITY = { id: "idt_1", limits: [{ name: "daily", limit: 10_000, period: "day" as const }] };

const summary = (key: Parameters<typeof makeLimitLines>[0], identity: typeof IDENTITY | null, only: readonly string[] | null) =>
  makeLimitLines(key, PLAN, identity, only).lines.map((line) => `${line.owner}:${line.name} ${line.limit}/${line.unit} ${line.bucket}`);

describe("limit lines", () => {
  it.each([
    {
      case: "a key with neither named limits nor identity: its rate limit, then the organization's",
      key: { ...KEY, limits: undefined },
      identity: null,
      only: null,
      expected: ["key:default 100/minute key/key_1/minute", "organization:minute 600/minute org/org_1/minute", "organization:month 100000/month quota/org_1"],
    },
    {
      case: "every limit of the key and its identity, in the contract's order",
      key: KEY,
      identity: IDENTITY,
      only: null,
      expected: [
        "key:default 100/minute key/key_1/minute",
        "key:burst 3/second key/key_1/limit/burst/second",
        "key:hourly 1000/hour key/key_1/limit/hourly/hour",
        "identity:daily 10000/day identity/org_1/idt_1/daily/day",
        "organization:minute 600/minute org/org_1/minute",
        "organization:month 100000/month quota/org_1",
      ],
    },
    {
      case: "a route naming limits spends those (the key's and its identity's alike) and the organization's",
      key: KEY,
      identity: IDENTITY,
      only: ["hourly", "daily", "unknown"],
      expected: [
        "key:hourly 1000/hour key/key_1/limit/hourly/hour",
        "identity:daily 10000/day identity/org_1/idt_1/daily/day",
        "organization:minute 600/minute org/org_1/minute",
        "organization:month 100000/month quota/org_1",
      ],
    },
    {
      case: "a route naming default spends the key's rate limit only",
      key: KEY,
      identity: IDENTITY,
      only: ["default"],
      expected: ["key:default 100/minute key/key_1/minute", "organization:minute 600/minute org/org_1/minute", "organization:month 100000/month quota/org_1"],
    },
    {
      case: "a route naming none of the key's own limits still spends its default: the owner's bound holds on every route",
      key: KEY,
      identity: IDENTITY,
      only: ["daily", "expensive"],
      expected: [
        "key:default 100/minute key/key_1/minute",
        "identity:daily 10000/day identity/org_1/idt_1/daily/day",
        "organization:minute 600/minute org/org_1/minute",
        "organization:month 100000/month quota/org_1",
      ],
    },
    {
      case: "a key without a rate limit has no default line",
      key: { ...KEY, rateLimit: null, limits: undefined },
      identity: null,
      only: null,
      expected: ["organization:minute 600/minute org/org_1/minute", "organization:month 100000/month quota/org_1"],
    },
  ])("$case", ({ key, identity, only, expected }) => {
    expect(summary(key, identity, only)).toEqual(expected);
  });

  it("RateLimit-Policy lists every line but the organization's: its identifier, quota and window in seconds (none for the month)", () => {
    expect(makeLimitLines(KEY, PLAN, IDENTITY, null).policyField).toBe(
      '"default";q=100;w=60, "burst";q=3;w=1, "hourly";q=1000;w=3600, "identity:daily";q=10000;w=86400',
    );
  });

  it("the lines are made once per key, plan, identity and route, and again when one of them changes", () => {
    const key = { ...KEY };
    const only = Object.freeze(["hourly"]);
    const first = linesOf(key, PLAN, IDENTITY, only);
    expect(linesOf(key, PLAN, IDENTITY, only)).toBe(first);
    expect(linesOf(key, PLAN, IDENTITY, null)).not.toBe(first);
    expect(linesOf(key, PLAN, IDENTITY, only)).toBe(first);
    const changed = { ...IDENTITY, limits: [{ name: "hourly", limit: 5, period: "hour" as const }] };
    expect(linesOf(key, PLAN, changed, only).lines.map((line) => `${line.owner}:${line.limit}`)).toEqual(["key:1000", "identity:5", "organization:600", "organization:100000"]);
  });
});
