import fc from "fast-check";
import { PLAIN_SPEND } from "../../src/limits/check-limits.js";
import { describe, expect, it } from "vitest";
import { UNKNOWN_SCOPES, type CheckInput } from "../../src/authz/check-input.js";
import { toCheckResponse } from "../../src/authz/check-response.js";
import { decide, type Decision, type LimitsWait } from "../../src/authz/decision.js";
import { CachedKey } from "../../src/cache/cached-key.js";
import { SharedKeyParts } from "../../src/cache/shared-key-parts.js";
import type { CheckLimits, PlanLimits } from "../../src/limits/check-limits.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { keyStatus } from "../../src/model/key-state.js";
import type { KeyRecord, RateLimitPeriod } from "../../src/model/records.js";
import { AllowList, parseClientIp } from "../../src/net/ip-allow-list.js";
import { ManualClock } from "../../src/time/clock.js";
import { aKey } from "../support/records.js";

/**
 * Issue 16's compact key against the decision Check made from the full record before it: over
 * generated keys (status bits, expiries on and around the instant of the Check, superseded
 * secrets inside and past their grace, scopes with repeats, allow-lists with bad entries, rate
 * limits) and generated requests (which secret, from where, needing which scopes, when), the
 * decision from a CachedKey is the one `decideFromRecord` gives, and so is an allow's response.
 * The CachedKeys are all made through one SharedKeyParts, so a part interned for one key is
 * what another key with the same list reads.
 */

/** Check's decision as it was made from the record (decision.ts before the compact key), kept as the oracle. */
interface RecordEntry {
  readonly key: KeyRecord;
  readonly plan: PlanLimits;
  readonly allowList: AllowList;
  readonly scopes: ReadonlySet<string>;
}

type Outcome = { outcome: string; limit?: unknown } | LimitsWait;

function decideFromRecord(input: CheckInput, presentedHash: string, entry: RecordEntry, nowMs: number, limits: Pick<CheckLimits, "admit">): Outcome {
  const status = keyStatus(entry.key, presentedHash, nowMs);
  if (status !== "valid") return { outcome: status };
  if (!entry.allowList.isOpen && !entry.allowList.allows(input.clientIp)) return { outcome: "IP_NOT_ALLOWED" };
  if (input.requiredScopes === null) return { outcome: "ROUTE_NOT_ALLOWED" };
  if (input.requiredScopes === UNKNOWN_SCOPES) return { outcome: "SCOPE_MISSING" };
  for (const scope of input.requiredScopes) {
    if (!entry.scopes.has(scope)) return { outcome: "SCOPE_MISSING" };
  }
  const admission = limits.admit(entry.key, entry.plan, nowMs, 0);
  if ("waitFor" in admission) return admission;
  // The keys here hold no credits: a denial is a limit's.
  if (!admission.admitted) return admission.reason === "CREDITS_EXHAUSTED" ? { outcome: admission.reason } : { outcome: admission.reason, limit: admission.state };
  return { outcome: "allowed", limit: admission.state };
}

const T0 = Date.UTC(2031, 2, 1, 10);
const PLAN: PlanLimits = { name: "pro", requestsPerMinute: 5, monthlyQuota: 8 };
const HASHES = ["a".repeat(64), "b".repeat(64), "c".repeat(64)] as const;
const SCOPES = ["machines:read", "machines:write", "tags:read", "admin:read", "data:ingest"] as const;
const ALLOW_LISTS: readonly (readonly string[])[] = [
  [],
  ["10.0.0.0/8"],
  ["10.0.0.0/8", "2001:db8::/32"],
  ["203.0.113.7"],
  ["::ffff:10.0.0.0/104"],
  ["not an address"],
  ["10.0.0.0/33", "192.168.1.0/24"],
];
const CLIENT_IPS = ["10.1.2.3", "192.168.1.9", "203.0.113.7", "2001:db8::1", "::ffff:10.0.0.1", "8.8.8.8", "", "garbage"] as const;

/** An offset from T0 in ms, dense around 0 so expiries land on, just before and just after the Check. */
const offset = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -120_000, max: 120_000 }));
const at = (ms: number) => new Date(T0 + ms);

const record = fc
  .record({
    current: fc.constantFrom(...HASHES),
    previous: fc.option(fc.record({ hash: fc.constantFrom(...HASHES), expiresIn: offset })),
    isActive: fc.boolean(),
    revokedIn: fc.option(offset, { freq: 4 }),
    expiresIn: fc.option(offset),
    scopes: fc.array(fc.constantFrom(...SCOPES), { maxLength: 6 }),
    allowIps: fc.constantFrom(...ALLOW_LISTS),
    rateLimit: fc.option(fc.record({ limit: fc.integer({ min: 1, max: 3 }), period: fc.constantFrom<RateLimitPeriod>("second", "minute", "hour", "day") })),
    updatedIn: offset,
  })
  .map((k) =>
    aKey("org_PROPERTIES", {
      secretHash: k.current,
      previousSecret: k.previous === null ? null : { hash: k.previous.hash, expiresAt: at(k.previous.expiresIn) },
      isActive: k.isActive,
      revokedAt: k.revokedIn === null ? null : at(k.revokedIn),
      expiresAt: k.expiresIn === null ? null : at(k.expiresIn),
      scopes: k.scopes,
      allowIps: [...k.allowIps],
      rateLimit: k.rateLimit,
      updatedAt: at(k.updatedIn),
    }),
  );

const request = fc.record({
  presented: fc.constantFrom(...HASHES),
  clientIp: fc.constantFrom(...CLIENT_IPS),
  requiredScopes: fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.constantFrom(...SCOPES), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant(UNKNOWN_SCOPES) },
  ),
  nowIn: offset,
});

function inputOf(r: { clientIp: string; requiredScopes: CheckInput["requiredScopes"] }): CheckInput {
  return {
    key: { kind: "presented", secret: "unused: the hash is given", header: "x-api-key" },
    headersToRemove: ["x-api-key"],
    clientIp: parseClientIp(r.clientIp),
    method: "GET",
    path: "/machines",
    pathRejected: false,
    requiredScopes: r.requiredScopes,
    spend: PLAIN_SPEND,
    requestId: "",
    requestBytes: undefined,
  };
}

// Small: each run makes two.
const localLimits = () => new LocalLimits({ clock: new ManualClock(T0), loadMonthlyRequests: async () => 0, maxBuckets: 16, maxOrganizations: 4 });
const parts = new SharedKeyParts();

describe("a decision from the compact key", () => {
  it("is the decision from the full record, for every key and request sequence", () => {
    fc.assert(
      fc.property(record, fc.array(request, { minLength: 1, maxLength: 6 }), (key, requests) => {
        const organization = { id: key.organizationId, plan: PLAN };
        const compact = new CachedKey(key, organization, parts);
        const full: RecordEntry = { key, plan: PLAN, allowList: AllowList.parse(key.allowIps), scopes: new Set(key.scopes) };
        // Each side counts in limits of its own, so the rate limits and quota see the same sequence.
        const compactLimits = localLimits();
        const fullLimits = localLimits();
        // In time order, as a limiter sees requests.
        for (const r of [...requests].sort((a, b) => a.nowIn - b.nowIn)) {
          const input = inputOf(r);
          const nowMs = T0 + r.nowIn;
          const got = decide(input, r.presented, compact, nowMs, compactLimits, 0) as Decision;
          const expected = decideFromRecord(input, r.presented, full, nowMs, fullLimits);
          expect("waitFor" in got ? "wait" : { outcome: got.outcome, limit: "limit" in got ? got.limit : undefined }).toEqual(
            "waitFor" in expected ? "wait" : { outcome: expected.outcome, limit: expected.limit },
          );
          if (got.outcome === "allowed") {
            const response = toCheckResponse(got, { headersToRemove: input.headersToRemove, nowMs, decisionId: "d" });
            expect(response.dynamicMetadata).toEqual({ key_id: key.id, organization_id: key.organizationId, scopes: key.scopes.join(" "), decision_id: "d" });
          }
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it("reads the record's status at its edges: expiry and a superseded secret's grace end at their instant", () => {
    const key = aKey("org_EDGES", { secretHash: HASHES[0], previousSecret: { hash: HASHES[1], expiresAt: at(0) }, expiresAt: at(10) });
    const compact = new CachedKey(key, { id: key.organizationId, plan: PLAN }, parts);
    for (const [hash, nowIn] of [
      [HASHES[1], -1],
      [HASHES[1], 0],
      [HASHES[0], 9],
      [HASHES[0], 10],
      [HASHES[2], 0],
    ] as const) {
      expect(compact.status(hash, T0 + nowIn)).toBe(keyStatus(key, hash, T0 + nowIn));
    }
    expect([compact.status(HASHES[1], T0 - 1), compact.status(HASHES[1], T0), compact.status(HASHES[0], T0 + 10)]).toEqual([
      "valid",
      "API_KEY_INVALID",
      "API_KEY_EXPIRED",
    ]);
  });
});
