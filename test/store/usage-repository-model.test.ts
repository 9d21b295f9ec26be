import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryUsageRepository } from "../../src/store/memory/usage-repository.js";
import type { KeyDayDelta, UsageBatch, UsageRepository } from "../../src/store/usage-repository.js";
import { CHECK_OUTCOMES, type CheckOutcome } from "../../src/model/check-outcomes.js";
import { emptyTally, type KeyDayUsage } from "../../src/model/usage-tally.js";
import { ReferenceUsageRepository } from "./reference-usage-repository.js";

/**
 * The compact embedded usage store against a plain model of it (reference-usage-repository.ts):
 * the same steps — batches, retries of earlier batches, time passing beyond retentions and sweeps,
 * queries whose answers the caller then changes — must give the same answers from both.
 */

const START_MS = Date.UTC(2031, 2, 2, 12);
const ORGANIZATIONS = ["org_a", "org_b"];
/** Ids of the usual shape (kept packed) and of other shapes (kept aside), sharing prefixes to test the order. */
const KEY_IDS = ["key_01HZX3Q4V5W6Y7Z8A9B0C1D2E3", "key_01HZX3Q4V5W6Y7Z8A9B0C1D2E4", "key_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "key_x", "Key/ß", ""];
const DAYS = ["2031-03-01", "2031-03-02", "2031-03-03", "2031-03-04"];
const ENDPOINTS = ["GET /v1/things/{id}", "POST /v1/things", "* {other}", "GET /ü"];
/** Retention as an offset from the time of the batch: already past, within the steps' reach, beyond it. */
const EXPIRY_OFFSETS_MS = [-1, 0, 30_000, 90_000, 240_000, 10 ** 10];

interface EntrySpec {
  organizationId: string;
  keyId: string;
  day: string;
  outcomes: Partial<Record<CheckOutcome, number>>;
  endpoints: [string, number][];
  scalars: number[];
  lastUsedOffsetMs: number | null;
  expiryOffsetMs: number;
}

const count = fc.integer({ min: 0, max: 1_000 });
const entrySpec: fc.Arbitrary<EntrySpec> = fc.record({
  organizationId: fc.constantFrom(...ORGANIZATIONS),
  keyId: fc.constantFrom(...KEY_IDS),
  day: fc.constantFrom(...DAYS),
  outcomes: fc.dictionary(fc.constantFrom(...CHECK_OUTCOMES), count, { maxKeys: 3 }) as fc.Arbitrary<Partial<Record<CheckOutcome, number>>>,
  endpoints: fc.uniqueArray(fc.tuple(fc.constantFrom(...ENDPOINTS), count), { selector: ([endpoint]) => endpoint, maxLength: 3 }),
  scalars: fc.array(count, { minLength: 6, maxLength: 6 }),
  lastUsedOffsetMs: fc.option(fc.integer({ min: -86_400_000, max: 86_400_000 })),
  expiryOffsetMs: fc.constantFrom(...EXPIRY_OFFSETS_MS),
});

type Step =
  | { kind: "apply"; entries: EntrySpec[] }
  | { kind: "retry"; back: number }
  | { kind: "wait"; ms: number }
  | { kind: "days"; organizationId: string; from: number; length: number; keyIds: string[] | undefined; withEndpoints: boolean | undefined }
  | { kind: "totals"; organizationId: string; keyIds: string[] }
  | { kind: "allowed"; organizationId: string; from: number; length: number };

const organization = fc.constantFrom(...ORGANIZATIONS);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("apply" as const), entries: fc.uniqueArray(entrySpec, { selector: (e) => `${e.organizationId} ${e.keyId} ${e.day}`, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retry" as const), back: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.constantFrom(1, 20_000, 61_000, 150_000) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("days" as const),
      organizationId: organization,
      from: fc.nat(DAYS.length - 1),
      length: fc.integer({ min: 0, max: DAYS.length }),
      keyIds: fc.option(fc.array(fc.constantFrom(...KEY_IDS, "key_never"), { maxLength: 4 }), { nil: undefined }),
      withEndpoints: fc.option(fc.boolean(), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("totals" as const), organizationId: organization, keyIds: fc.array(fc.constantFrom(...KEY_IDS, "key_never"), { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("allowed" as const), organizationId: organization, from: fc.nat(DAYS.length - 1), length: fc.integer({ min: 0, max: DAYS.length }) }) },
);

function deltaOf(spec: EntrySpec, nowMs: number): KeyDayDelta {
  const tally = emptyTally();
  tally.outcomes = { ...spec.outcomes };
  tally.endpoints = new Map(spec.endpoints);
  [tally.checkBytes, tally.successful, tally.failed, tally.timedResponses, tally.responseTimeUs, tally.transferredBytes] = spec.scalars as [number, number, number, number, number, number];
  const { organizationId, keyId, day } = spec;
  const lastUsedAtMs = spec.lastUsedOffsetMs === null ? null : nowMs + spec.lastUsedOffsetMs;
  return { organizationId, keyId, day, lastUsedAtMs, tally, expireAtMs: nowMs + spec.expiryOffsetMs };
}

/** What a caller might do with the records it got: change them all. */
function scribbleOn(found: KeyDayUsage[]): void {
  for (const usage of found) {
    usage.tally.outcomes.allowed = (usage.tally.outcomes.allowed ?? 0) + 1;
    usage.tally.endpoints.set("GET /scribbled", 1);
    usage.tally.checkBytes++;
    usage.lastUsedAtMs = 0;
  }
}

const rangeOf = (from: number, length: number) => ({ from: DAYS[from]!, to: DAYS[Math.min(from + length, DAYS.length) - 1] ?? DAYS[0]! });

describe("the embedded usage store against its model", () => {
  it("gives the model's answers after any steps: batches, retries, retention, sweeps, queries", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        let nowMs = START_MS;
        const clock = () => nowMs;
        const compact = new MemoryUsageRepository(clock);
        const model = new ReferenceUsageRepository(clock);
        const stores: UsageRepository[] = [compact, model];
        const batches: UsageBatch[] = [];
        for (const [index, taken] of steps.entries()) {
          if (taken.kind === "apply") {
            const batch = { id: `batch-${index}`, entries: taken.entries.map((spec) => deltaOf(spec, nowMs)) };
            batches.push(batch);
            for (const store of stores) expect(await store.apply(structuredClone(batch))).toStrictEqual({ rejected: [] });
          } else if (taken.kind === "retry") {
            const batch = batches[batches.length - 1 - taken.back];
            if (batch) for (const store of stores) await store.apply(structuredClone(batch));
          } else if (taken.kind === "wait") {
            nowMs += taken.ms;
          } else if (taken.kind === "days") {
            const query = { keyIds: taken.keyIds, withEndpoints: taken.withEndpoints };
            const found = await compact.days(taken.organizationId, rangeOf(taken.from, taken.length), query);
            expect(found).toStrictEqual(await model.days(taken.organizationId, rangeOf(taken.from, taken.length), query));
            expect(found.map(({ day, keyId }) => [day, keyId])).toStrictEqual(found.map(({ day, keyId }) => [day, keyId]).sort());
            scribbleOn(found);
          } else if (taken.kind === "totals") {
            const found = await compact.keyTotals(taken.organizationId, taken.keyIds);
            expect(found).toStrictEqual(await model.keyTotals(taken.organizationId, taken.keyIds));
            for (const totals of found.values()) totals.requests++;
          } else {
            const range = rangeOf(taken.from, taken.length);
            expect(await compact.allowedRequests(taken.organizationId, range)).toBe(await model.allowedRequests(taken.organizationId, range));
          }
        }
        // Everything still held, each endpoint in the order it was first counted.
        for (const organizationId of ORGANIZATIONS) {
          const range = { from: DAYS[0]!, to: DAYS.at(-1)! };
          const found = await compact.days(organizationId, range);
          const expected = await model.days(organizationId, range);
          expect(found).toStrictEqual(expected);
          expect(found.map((usage) => [...usage.tally.endpoints.keys()])).toStrictEqual(expected.map((usage) => [...usage.tally.endpoints.keys()]));
          expect(await compact.keyTotals(organizationId, KEY_IDS)).toStrictEqual(await model.keyTotals(organizationId, KEY_IDS));
        }
        // Once every retention has passed, the next batch's sweep lets every key-day go, endpoint and denial counts and all.
        nowMs += 2 * 10 ** 10;
        await compact.apply({ id: "after-every-retention", entries: [] });
        expect(compact.held).toStrictEqual({ keyDays: 0, endpointCounts: 0, denialCounts: 0 });
      }),
      { numRuns: 200 },
    );
  });
});
