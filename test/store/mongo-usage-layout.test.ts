import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";
import { addDays, daysFrom } from "../../src/time/utc-days.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aBatch, aDelta, aTally } from "./contract/usage.js";

/** MongoDB's usage layout: the documents, the indexes, what a query costs, and refused writes. */

describe("usage on MongoDB", () => {
  let fresh: FreshMongoStore;

  beforeAll(async () => {
    fresh = await freshMongoStore();
  });

  afterAll(async () => {
    await fresh?.cleanup();
  });

  it("indexes days by organization then day, by organization then key, and expires them by TTL", async () => {
    const indexes = async (collection: string) =>
      (await fresh.db.collection(collection).indexes()).map(({ name, key, expireAfterSeconds }) => ({
        name,
        key,
        ...(expireAfterSeconds !== undefined && { expireAfterSeconds }),
      }));
    expect(await indexes(COLLECTIONS.usageDays)).toEqual([
      { name: "_id_", key: { _id: 1 } },
      { name: "organizationId_day_keyId", key: { organizationId: 1, day: 1, keyId: 1 } },
      { name: "organizationId_keyId_day", key: { organizationId: 1, keyId: 1, day: 1 } },
      { name: "expireAt_ttl", key: { expireAt: 1 }, expireAfterSeconds: 0 },
    ]);
    expect(await indexes(COLLECTIONS.usageKeyTotals)).toEqual([{ name: "_id_", key: { _id: 1 } }]);
  });

  it("keeps one document per key and day: counters, escaped endpoint names, expiry and the batches applied", async () => {
    const [org, key] = [newId("org"), newId("key")];
    const batch = aBatch({
      ...aDelta(org, key, "2031-03-02", aTally({ outcomes: { allowed: 2, RATE_LIMITED: 1 }, endpoints: { "GET /v1/a.b/$x": 3 }, successful: 2, responseTimeUs: 9 }), Date.UTC(2031, 2, 2, 8)),
      expireAtMs: Date.UTC(2032, 3, 6),
    });
    await fresh.store.usage.apply(batch);
    expect(await fresh.db.collection(COLLECTIONS.usageDays).findOne({ organizationId: org })).toStrictEqual({
      _id: `${org}/${key}/2031-03-02`,
      organizationId: org,
      keyId: key,
      day: "2031-03-02",
      expireAt: new Date(Date.UTC(2032, 3, 6)),
      lastUsedAt: new Date(Date.UTC(2031, 2, 2, 8)),
      outcomes: { allowed: 2, RATE_LIMITED: 1 },
      endpoints: { "GET /v1/a%2Eb/%24x": 3 },
      successful: 2,
      responseTimeUs: 9,
      flushIds: [batch.id],
    });
    expect(await fresh.db.collection(COLLECTIONS.usageKeyTotals).findOne({ organizationId: org })).toStrictEqual({
      _id: `${org}/${key}`,
      organizationId: org,
      keyId: key,
      requests: 3,
      lastUsedAt: new Date(Date.UTC(2031, 2, 2, 8)),
      flushIds: [batch.id],
    });
  });

  it("reads days × keys documents for a period, whatever else is stored", async () => {
    const org = newId("org");
    const keys = Array.from({ length: 5 }, () => newId("key"));
    const days = daysFrom("2031-01-01", "2031-03-01");
    for (const organization of [org, newId("org")]) {
      await fresh.store.usage.apply(aBatch(...days.flatMap((day) => keys.map((key) => aDelta(organization, key, day, aTally({ outcomes: { allowed: 1 } }))))));
    }
    await fresh.db.command({ profile: 2 });
    try {
      const week = { from: addDays("2031-03-01", -6), to: "2031-03-01" };
      expect(await fresh.store.usage.days(org, week)).toHaveLength(35);
      expect(await fresh.store.usage.days(org, week, { keyIds: keys.slice(0, 2) })).toHaveLength(14);
      expect(await fresh.store.usage.allowedRequests(org, { from: "2031-02-01", to: "2031-02-28" })).toBe(140);
    } finally {
      await fresh.db.command({ profile: 0 });
    }
    const profiled = await fresh.db
      .collection("system.profile")
      .find({ ns: `${fresh.db.databaseName}.${COLLECTIONS.usageDays}`, op: { $in: ["query", "command"] } })
      .sort({ ts: 1 })
      .toArray();
    const reads = profiled.filter((p) => p["command"]?.find === COLLECTIONS.usageDays || p["command"]?.aggregate === COLLECTIONS.usageDays);
    // Each read examines exactly the documents of its days and keys, through an index (the
    // planner may take either for chosen keys).
    expect(reads.map((p) => [p["docsExamined"], p["planSummary"]])).toEqual([
      [35, "IXSCAN { organizationId: 1, day: 1, keyId: 1 }"],
      [14, expect.stringMatching(/^IXSCAN \{ organizationId: 1, (day: 1, keyId: 1|keyId: 1, day: 1) \}$/)],
      [140, "IXSCAN { organizationId: 1, day: 1, keyId: 1 }"],
    ]);
  });

  it("applies what it can of a batch and reports the entries the server refuses for good", async () => {
    const [org, keyA, keyB] = [newId("org"), newId("key"), newId("key")];
    await fresh.db.command({ collMod: COLLECTIONS.usageDays, validator: { day: { $ne: "2031-13-01" } }, validationAction: "error" });
    try {
      const result = await fresh.store.usage.apply(
        aBatch(aDelta(org, keyA, "2031-03-02", aTally({ outcomes: { allowed: 1 } })), aDelta(org, keyB, "2031-13-01", aTally({ outcomes: { allowed: 5 } }))),
      );
      expect(result.rejected).toEqual([{ keyId: keyB, day: "2031-13-01", reason: expect.stringMatching(/validation/i) }]);
    } finally {
      await fresh.db.command({ collMod: COLLECTIONS.usageDays, validator: {} });
    }
    expect(await fresh.store.usage.allowedRequests(org, { from: "2031-01-01", to: "2031-12-31" })).toBe(1);
    expect(await fresh.store.usage.keyTotals(org, [keyA, keyB])).toEqual(new Map([[keyA, { requests: 1, lastUsedAtMs: null }]]));
  });
});
