import { toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { toCheckResponse, type ResponseContext } from "../../src/authz/check-response.js";
import { CheckResponseEncoder } from "../../src/authz/check-response-encoder.js";
import type { Decision } from "../../src/authz/decision.js";
import { DENIAL_CODES } from "../../src/model/denials.js";
import { CachedKey } from "../../src/cache/cached-key.js";
import { SharedKeyParts } from "../../src/cache/shared-key-parts.js";
import { NO_CREDIT_BALANCES } from "../../src/limits/credit-lines.js";
import { makeLimitLines } from "../../src/limits/limit-lines.js";
import { aKey } from "../support/records.js";

/**
 * The hand-written CheckResponse encoder against protobuf-es: for every kind of decision, with
 * any ids, scopes, limits and times, its bytes are exactly toBinary(toCheckResponse(...)).
 */

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: "grapheme", maxLength: 12 }), fc.constantFrom("", "é", "\uFEFF", "x".repeat(200)));

const parts = new SharedKeyParts();
const PLAN = { name: "pro", requestsPerMinute: 6000, monthlyQuota: 1_000_000 };
const cachedKey = (organizationId: string, fields: Parameters<typeof aKey>[1]) => new CachedKey(aKey(organizationId, fields), { id: organizationId, plan: PLAN }, parts);

const entry: fc.Arbitrary<CachedKey> = fc
  .record({ id: text, organizationId: text, scopes: fc.array(text, { maxLength: 20 }) })
  .map(({ id, organizationId, scopes }) => cachedKey(organizationId, { id, scopes }));

const nowMs = fc.integer({ min: 0, max: 4_102_444_800_000 });
const limit = fc.record({
  limit: fc.nat({ max: 2_000_000_000 }),
  remaining: fc.nat({ max: 2_000_000_000 }),
  resetAtMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  retryAtMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
});

// Any key's and identity's named limits, and which of them the decision names (the tightest, or the one that denied).
const limitName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
const namedLimit = fc.record({ name: limitName, limit: fc.integer({ min: 1, max: 2_000_000_000 }), period: fc.constantFrom("second" as const, "minute" as const, "hour" as const, "day" as const) });
const limited = fc
  .record({
    rateLimit: fc.option(fc.record({ limit: fc.integer({ min: 1, max: 1_000_000 }), period: fc.constantFrom("second" as const, "hour" as const) }), { nil: null }),
    limits: fc.array(namedLimit, { maxLength: 4 }),
    identity: fc.option(fc.array(namedLimit, { maxLength: 3 }), { nil: null }),
    pick: fc.nat(),
  })
  .map(({ rateLimit, limits, identity, pick }) => {
    const lines = makeLimitLines({ id: "key_1", organizationId: "org_1", rateLimit, limits }, PLAN, identity === null ? null : { id: "idt_1", limits: identity }, null);
    return { lines, line: lines.lines[pick % lines.lines.length]! };
  });
const withLimits = <D extends object>(d: fc.Arbitrary<D>) => fc.tuple(d, limited).map(([fields, { line, lines }]) => ({ ...fields, line, lines }));

const decision: fc.Arbitrary<Decision> = fc.oneof(
  withLimits(fc.record({ outcome: fc.constant("allowed" as const), entry, limit, credits: fc.constant(NO_CREDIT_BALANCES) })),
  fc.record({ outcome: fc.constantFrom("PATH_REJECTED" as const, "API_KEY_MISSING" as const, "API_KEY_INVALID" as const), entry: fc.constant(null) }),
  fc.record({
    outcome: fc.constantFrom(
      "API_KEY_REVOKED" as const,
      "API_KEY_DISABLED" as const,
      "API_KEY_EXPIRED" as const,
      "IP_NOT_ALLOWED" as const,
      "ROUTE_NOT_ALLOWED" as const,
      "SCOPE_MISSING" as const,
    ),
    entry,
  }),
  withLimits(fc.record({ outcome: fc.constantFrom("RATE_LIMITED" as const, "QUOTA_EXCEEDED" as const), entry, limit })),
);

const context: fc.Arbitrary<ResponseContext> = fc.record({
  headersToRemove: fc.constantFrom<readonly string[]>(Object.freeze([]), Object.freeze(["x-api-key"]), Object.freeze(["authorization"]), Object.freeze(["x-api-key", "authorization"])),
  nowMs,
  decisionId: fc.oneof(fc.uuid(), text),
});

const expected = (d: Decision, c: ResponseContext) => toBinary(CheckResponseSchema, toCheckResponse(d, c));

const encoder = new CheckResponseEncoder();

describe("CheckResponseEncoder", () => {
  it("gives toBinary(toCheckResponse(...))'s bytes for every decision", () => {
    fc.assert(
      fc.property(decision, context, (d, c) => {
        expect(Buffer.from(encoder.encode(d, c)).toString("hex")).toBe(Buffer.from(expected(d, c)).toString("hex"));
      }),
      { numRuns: 2000 },
    );
  });

  it("covers every denial code", () => {
    const c: ResponseContext = { headersToRemove: ["x-api-key"], nowMs: 1_768_478_400_000, decisionId: "d-1" };
    const e = fc.sample(entry, 1)[0]!;
    for (const code of DENIAL_CODES) {
      const d = (
        code === "PATH_REJECTED" || code === "API_KEY_MISSING" || code === "API_KEY_INVALID"
          ? { outcome: code, entry: null }
          : code === "RATE_LIMITED" || code === "QUOTA_EXCEEDED"
            ? { outcome: code, entry: e, limit: { limit: 100, remaining: 0, resetAtMs: c.nowMs + 60_000, retryAtMs: c.nowMs + 1_500 }, ...fc.sample(limited, 1)[0]! }
            : code === "CREDITS_EXHAUSTED"
              ? { outcome: code, entry: e, credit: { owner: "identity", bucket: "credits/identity/o/i/1/2", startMs: 2, endMs: c.nowMs + 90_500, limit: 10 } }
              : { outcome: code, entry: e }
      ) as Decision;
      expect(Buffer.from(encoder.encode(d, c))).toEqual(Buffer.from(expected(d, c)));
    }
    // A balance that is never refilled: no Retry-After, and the message says so.
    const never = { outcome: "CREDITS_EXHAUSTED", entry: e, credit: { owner: "key", bucket: "credits/key/k/1/1", startMs: 1, endMs: null, limit: 10 } } as Decision;
    expect(Buffer.from(encoder.encode(never, c))).toEqual(Buffer.from(expected(never, c)));
    const response = toCheckResponse(never, c);
    expect(response.status?.message).toBe("The API key's credits are used up; they are not refilled.");
  });

  it("a response too big for its scratch buffer is still exact", () => {
    const huge = cachedKey("org_1", { scopes: Array.from({ length: 2_000 }, (_, i) => `scope-${i}:${"x".repeat(40)}`) });
    const d: Decision = { outcome: "allowed", entry: huge, limit: { limit: 1, remaining: 0, resetAtMs: 0, retryAtMs: 0 }, credits: NO_CREDIT_BALANCES, ...fc.sample(limited, 1)[0]! };
    const c: ResponseContext = { headersToRemove: [], nowMs: 0, decisionId: "d" };
    expect(Buffer.from(encoder.encode(d, c))).toEqual(Buffer.from(expected(d, c)));
  });
});
