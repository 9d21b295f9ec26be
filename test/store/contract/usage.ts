import { describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { Store } from "../../../src/store/store.js";
import type { KeyDayDelta, UsageBatch } from "../../../src/store/usage-repository.js";
import { emptyTally, type KeyDayUsage, type UsageTally } from "../../../src/model/usage-tally.js";

/**
 * The usage section of the store contract (test/store/contract.ts runs it on every store):
 * pre-aggregated key-days, batches applied at most once, queries by organization, days and keys.
 */

const FAR_FUTURE = Date.UTC(2099, 0, 1);
let batchCounter = 0;

export const aBatch = (...entries: KeyDayDelta[]): UsageBatch => ({ id: `contract-${process.pid}-${++batchCounter}`, entries });

export function aTally(fields: Partial<Omit<UsageTally, "endpoints">> & { endpoints?: Record<string, number> } = {}): UsageTally {
  const { endpoints, ...rest } = fields;
  return { ...emptyTally(), ...rest, endpoints: new Map(Object.entries(endpoints ?? {})) };
}

export function aDelta(organizationId: string, keyId: string, day: string, tally: UsageTally, lastUsedAtMs: number | null = null): KeyDayDelta {
  return { organizationId, keyId, day, lastUsedAtMs, tally, expireAtMs: FAR_FUTURE };
}

const usageOf = ({ expireAtMs: _, ...usage }: KeyDayDelta): KeyDayUsage => usage;

export function describeUsageContract(getStore: () => Store): void {
  describe("usage", () => {
    const at = (iso: string) => new Date(iso).getTime();

    it("keeps every counter of a key-day and gives it back exactly, endpoint names of any shape included", async () => {
      const store = getStore();
      const org = newId("org");
      const key = newId("key");
      const delta = aDelta(
        org,
        key,
        "2031-03-02",
        aTally({
          outcomes: { allowed: 5, RATE_LIMITED: 2, SCOPE_MISSING: 1 },
          endpoints: { "GET /v1/machines/{id}": 6, "POST /v1/a.b/$c%2E/d": 1, "* {other}": 1 },
          checkBytes: 1_234,
          successful: 4,
          failed: 1,
          timedResponses: 5,
          responseTimeUs: 123_456,
          transferredBytes: 98_765,
        }),
        at("2031-03-02T10:11:12.345Z"),
      );
      expect(await store.usage.apply(aBatch(delta))).toEqual({ rejected: [] });
      expect(await store.usage.days(org, { from: "2031-03-02", to: "2031-03-02" })).toStrictEqual([usageOf(delta)]);
    });

    it("adds batches into the same key-day, keeping the later last use", async () => {
      const store = getStore();
      const org = newId("org");
      const key = newId("key");
      const day = "2031-03-02";
      await store.usage.apply(aBatch(aDelta(org, key, day, aTally({ outcomes: { allowed: 2 }, endpoints: { "GET /a": 2 } }), at("2031-03-02T12:00:00Z"))));
      await store.usage.apply(aBatch(aDelta(org, key, day, aTally({ outcomes: { allowed: 1, IP_NOT_ALLOWED: 3 }, endpoints: { "GET /a": 1, "PUT /b": 3 }, failed: 2 }), at("2031-03-02T09:00:00Z"))));
      await store.usage.apply(aBatch(aDelta(org, key, day, aTally({ outcomes: { API_KEY_REVOKED: 1 }, endpoints: { "GET /a": 1 } }))));
      expect(await store.usage.days(org, { from: day, to: day })).toStrictEqual([
        {
          organizationId: org,
          keyId: key,
          day,
          lastUsedAtMs: at("2031-03-02T12:00:00Z"),
          tally: aTally({ outcomes: { allowed: 3, IP_NOT_ALLOWED: 3, API_KEY_REVOKED: 1 }, endpoints: { "GET /a": 4, "PUT /b": 3 }, failed: 2 }),
        },
      ]);
    });

    it("applies a batch once: the same batch again changes nothing, another batch with the same counts adds", async () => {
      const store = getStore();
      const org = newId("org");
      const key = newId("key");
      const batch = aBatch(
        aDelta(org, key, "2031-03-01", aTally({ outcomes: { allowed: 4 }, endpoints: { "GET /a": 4 } }), at("2031-03-01T08:00:00Z")),
        aDelta(org, key, "2031-03-02", aTally({ outcomes: { allowed: 1, QUOTA_EXCEEDED: 1 }, endpoints: { "GET /a": 2 } }), at("2031-03-02T08:00:00Z")),
      );
      await store.usage.apply(batch);
      await store.usage.apply(batch);
      await Promise.all([store.usage.apply(batch), store.usage.apply(batch)]);
      const range = { from: "2031-03-01", to: "2031-03-31" };
      expect(await store.usage.days(org, range)).toStrictEqual(batch.entries.map(usageOf));
      expect(await store.usage.keyTotals(org, [key])).toEqual(new Map([[key, { requests: 6, lastUsedAtMs: at("2031-03-02T08:00:00Z") }]]));
      expect(await store.usage.allowedRequests(org, range)).toBe(5);

      await store.usage.apply({ ...batch, id: `${batch.id}-again` });
      expect(await store.usage.allowedRequests(org, range)).toBe(10);
      expect((await store.usage.keyTotals(org, [key])).get(key)?.requests).toBe(12);
    });

    it("counts every increment of concurrent batches that create the same key-day", async () => {
      const store = getStore();
      const org = newId("org");
      const [keyA, keyB] = [newId("key"), newId("key")];
      const day = "2031-03-05";
      const batches = Array.from({ length: 20 }, (_, i) =>
        aBatch(
          aDelta(org, keyA, day, aTally({ outcomes: { allowed: 1 }, endpoints: { [`GET /e${i % 3}`]: 1 } }), at("2031-03-05T00:00:00Z") + i),
          aDelta(org, keyB, day, aTally({ outcomes: { RATE_LIMITED: 2 }, endpoints: { "GET /b": 2 } })),
        ),
      );
      await Promise.all(batches.map((batch) => store.usage.apply(batch)));
      const [a, b] = await store.usage.days(org, { from: day, to: day });
      expect(a!.tally).toStrictEqual(aTally({ outcomes: { allowed: 20 }, endpoints: { "GET /e0": 7, "GET /e1": 7, "GET /e2": 6 } }));
      expect(a!.lastUsedAtMs).toBe(at("2031-03-05T00:00:00Z") + 19);
      expect(b!.tally).toStrictEqual(aTally({ outcomes: { RATE_LIMITED: 40 }, endpoints: { "GET /b": 40 } }));
      expect(await store.usage.keyTotals(org, [keyA, keyB])).toEqual(
        new Map([
          [keyA, { requests: 20, lastUsedAtMs: at("2031-03-05T00:00:00Z") + 19 }],
          [keyB, { requests: 40, lastUsedAtMs: null }],
        ]),
      );
    });

    it("reads the days of a range, both ends included, in day then key order, for all or chosen keys", async () => {
      const store = getStore();
      const org = newId("org");
      const [keyA, keyB, keyC] = [newId("key"), newId("key"), newId("key")].sort() as [string, string, string];
      const one = (keyId: string, day: string) => aDelta(org, keyId, day, aTally({ outcomes: { allowed: 1 }, endpoints: { "GET /x": 1 } }));
      const entries = [
        one(keyB, "2031-02-28"),
        one(keyA, "2031-03-01"),
        one(keyC, "2031-03-01"),
        one(keyB, "2031-03-01"),
        one(keyA, "2031-03-03"),
        one(keyA, "2031-03-04"),
      ];
      await store.usage.apply(aBatch(...entries));
      const days = async (from: string, to: string, keyIds?: string[]) =>
        (await store.usage.days(org, { from, to }, keyIds && { keyIds })).map((u) => `${u.day} ${u.keyId}`);
      expect(await days("2031-03-01", "2031-03-03")).toEqual([
        `2031-03-01 ${keyA}`,
        `2031-03-01 ${keyB}`,
        `2031-03-01 ${keyC}`,
        `2031-03-03 ${keyA}`,
      ]);
      expect(await days("2031-02-01", "2031-03-31", [keyB, keyC])).toEqual([`2031-02-28 ${keyB}`, `2031-03-01 ${keyB}`, `2031-03-01 ${keyC}`]);
      expect(await days("2031-03-02", "2031-03-02")).toEqual([]);
      expect(await days("2031-03-01", "2031-03-31", [newId("key")])).toEqual([]);
      const [withoutEndpoints] = await store.usage.days(org, { from: "2031-03-04", to: "2031-03-04" }, { withEndpoints: false });
      expect(withoutEndpoints!.tally).toStrictEqual(aTally({ outcomes: { allowed: 1 } }));
    });

    it("keeps organizations apart", async () => {
      const store = getStore();
      const [org, other] = [newId("org"), newId("org")];
      const key = newId("key");
      await store.usage.apply(aBatch(aDelta(org, key, "2031-03-02", aTally({ outcomes: { allowed: 3 } }), at("2031-03-02T01:00:00Z"))));
      const range = { from: "2031-03-01", to: "2031-03-31" };
      expect(await store.usage.days(other, range)).toEqual([]);
      expect(await store.usage.days(other, range, { keyIds: [key] })).toEqual([]);
      expect(await store.usage.keyTotals(other, [key])).toEqual(new Map());
      expect(await store.usage.allowedRequests(other, range)).toBe(0);
      expect(await store.usage.allowedRequests(org, range)).toBe(3);

      // Even usage claimed for the same key id in another organization stays that organization's.
      await store.usage.apply(aBatch(aDelta(other, key, "2031-03-02", aTally({ outcomes: { allowed: 5 } }))));
      expect(await store.usage.allowedRequests(org, range)).toBe(3);
      expect(await store.usage.allowedRequests(other, range)).toBe(5);
      expect((await store.usage.days(org, range)).map((u) => u.tally.outcomes)).toEqual([{ allowed: 3 }]);
      expect(await store.usage.keyTotals(org, [key])).toEqual(new Map([[key, { requests: 3, lastUsedAtMs: at("2031-03-02T01:00:00Z") }]]));
      expect(await store.usage.keyTotals(other, [key])).toEqual(new Map([[key, { requests: 5, lastUsedAtMs: null }]]));
    });

    it("sums an organization's allowed requests over a range only", async () => {
      const store = getStore();
      const org = newId("org");
      const [keyA, keyB] = [newId("key"), newId("key")];
      await store.usage.apply(
        aBatch(
          aDelta(org, keyA, "2031-02-28", aTally({ outcomes: { allowed: 100 } })),
          aDelta(org, keyA, "2031-03-01", aTally({ outcomes: { allowed: 7, RATE_LIMITED: 50 } })),
          aDelta(org, keyB, "2031-03-31", aTally({ outcomes: { allowed: 5 } })),
          aDelta(org, keyB, "2031-04-01", aTally({ outcomes: { allowed: 1000 } })),
        ),
      );
      expect(await store.usage.allowedRequests(org, { from: "2031-03-01", to: "2031-03-31" })).toBe(12);
    });

    it("leaves out days past their retention", async () => {
      const store = getStore();
      const org = newId("org");
      const key = newId("key");
      const expired = { ...aDelta(org, key, "2031-03-01", aTally({ outcomes: { allowed: 9 } })), expireAtMs: Date.now() - 1_000 };
      const kept = aDelta(org, key, "2031-03-02", aTally({ outcomes: { allowed: 2 } }));
      await store.usage.apply(aBatch(expired, kept));
      const range = { from: "2031-03-01", to: "2031-03-31" };
      expect((await store.usage.days(org, range)).map((u) => u.day)).toEqual(["2031-03-02"]);
      expect(await store.usage.allowedRequests(org, range)).toBe(2);
    });
  });
}
