import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { MemoryUsageRepository } from "../../src/store/memory/usage-repository.js";
import { ManualClock } from "../../src/time/clock.js";
import { endpointNormalizer } from "../../src/usage/endpoint.js";
import { loadConfig } from "../../src/config/config.js";
import type { CheckOutcome } from "../../src/model/check-outcomes.js";
import type { CheckUsageEvent } from "../../src/usage/usage-event.js";
import { USAGE_METRIC, UsageMetrics } from "../../src/usage/usage-metrics.js";
import { MAX_ENDPOINTS_PER_KEY_DAY, UsageAggregator, type FlushedUsage, type UsageAggregatorOptions } from "../../src/usage/usage-recorder.js";
import type { UsageBatch, UsageRepository } from "../../src/store/usage-repository.js";
import { requestsOf } from "../../src/model/usage-tally.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aTally } from "../store/contract/usage.js";

/** A repository that fails on demand: before writing (store down) or after (acknowledgement lost). */
class FaultyRepository implements UsageRepository {
  readonly attempts: string[] = [];
  readonly faults: Array<"before" | "after" | "ok"> = [];
  #gate: Promise<void> | undefined;

  constructor(readonly inner: UsageRepository) {}

  /** The next apply waits until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise((resolve) => (release = resolve));
    return release;
  }

  async apply(batch: UsageBatch) {
    this.attempts.push(batch.id);
    const fault = this.faults.shift() ?? "ok";
    const gate = this.#gate;
    this.#gate = undefined;
    if (gate) await gate;
    if (fault === "before") throw new Error("store unavailable");
    const result = await this.inner.apply(batch);
    if (fault === "after") throw new Error("connection reset before the acknowledgement");
    return result;
  }

  days: UsageRepository["days"] = (...args) => this.inner.days(...args);
  keyTotals: UsageRepository["keyTotals"] = (...args) => this.inner.keyTotals(...args);
  allowedRequests: UsageRepository["allowedRequests"] = (...args) => this.inner.allowedRequests(...args);
}

const NOON = Date.UTC(2031, 2, 15, 12);
const DAY = "2031-03-15";
const WHOLE_MONTH = { from: "2031-03-01", to: "2031-03-31" };
const normalizeEndpoint = endpointNormalizer(loadConfig({}).usageIdSegmentPattern);

function setup(repository: UsageRepository, options: Partial<UsageAggregatorOptions> = {}) {
  const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const faulty = new FaultyRepository(repository);
  const clock = new ManualClock(NOON);
  const metrics = new UsageMetrics();
  const recorder = new UsageAggregator({
    repository: faulty,
    clock,
    logger,
    metrics,
    normalizeEndpoint,
    flushIntervalMs: 60_000,
    batchSize: 500,
    maxBufferedEntries: 10_000,
    retentionDays: 400,
    ...options,
  });
  return { recorder, faulty, clock, metrics, lines };
}

function check(organizationId: string, keyId: string, fields: Partial<CheckUsageEvent> = {}): CheckUsageEvent {
  return { organizationId, keyId, method: "GET", path: "/v1/machines/1", outcome: "allowed", atMs: NOON, ...fields };
}

/** A small deterministic generator, so a failing interleaving can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const stores: Array<[string, () => UsageRepository]> = [];
let mongo: FreshMongoStore | undefined;
stores.push(["memory", () => new MemoryUsageRepository()]);
stores.push(["mongodb", () => mongo!.store.usage]);

beforeAll(async () => {
  mongo = await freshMongoStore();
});

afterAll(async () => {
  await mongo?.cleanup();
});

describe("usage recorder", () => {
  it("aggregates per key, UTC day, endpoint and outcome; last use and request bytes count allowed requests only", async () => {
    const { recorder, faulty } = setup(new MemoryUsageRepository());
    const [org, keyA, keyB] = [newId("org"), newId("key"), newId("key")];
    const morning = Date.UTC(2031, 2, 14, 9);
    recorder.record(check(org, keyA, { path: "/v1/machines/1", requestBytes: 100, atMs: NOON - 5 }));
    recorder.record(check(org, keyA, { path: "/v1/machines/2", requestBytes: 50 }));
    recorder.record(check(org, keyA, { path: "/v1/machines/3", outcome: "RATE_LIMITED", requestBytes: 999, atMs: NOON + 5 }));
    recorder.record(check(org, keyA, { method: "POST", path: "/v1/tags", outcome: "SCOPE_MISSING" }));
    recorder.record(check(org, keyA, { atMs: morning }));
    recorder.record(check(org, keyB, { path: "/v1/documents/65a1f0c2e4b0a1b2c3d4e5f6", outcome: "API_KEY_EXPIRED" }));
    await recorder.flush();
    expect(faulty.attempts).toHaveLength(1);
    expect(await faulty.days(org, WHOLE_MONTH)).toStrictEqual([
      {
        organizationId: org,
        keyId: keyA,
        day: "2031-03-14",
        lastUsedAtMs: morning,
        tally: aTally({ outcomes: { allowed: 1 }, endpoints: { "GET /v1/machines/{id}": 1 } }),
      },
      ...[
        {
          organizationId: org,
          keyId: keyA,
          day: DAY,
          lastUsedAtMs: NOON,
          tally: aTally({
            outcomes: { allowed: 2, RATE_LIMITED: 1, SCOPE_MISSING: 1 },
            endpoints: { "GET /v1/machines/{id}": 3, "POST /v1/tags": 1 },
            checkBytes: 150,
          }),
        },
        {
          organizationId: org,
          keyId: keyB,
          day: DAY,
          lastUsedAtMs: null,
          tally: aTally({ outcomes: { API_KEY_EXPIRED: 1 }, endpoints: { "GET /v1/documents/{id}": 1 } }),
        },
      ].sort((a, b) => (a.keyId < b.keyId ? -1 : 1)),
    ]);
  });

  it("adds access-log responses to the same key-days", async () => {
    const { recorder, faulty } = setup(new MemoryUsageRepository());
    const [org, key] = [newId("org"), newId("key")];
    recorder.record(check(org, key));
    recorder.recordResponse({ organizationId: org, keyId: key, atMs: NOON, status: 200, durationUs: 1_500, transferredBytes: 700 });
    recorder.recordResponse({ organizationId: org, keyId: key, atMs: NOON, status: 503, transferredBytes: 300 });
    recorder.recordResponse({ organizationId: org, keyId: key, atMs: NOON, status: 404, durationUs: 500, transferredBytes: 0 });
    await recorder.flush();
    const [usage] = await faulty.days(org, WHOLE_MONTH);
    expect(usage!.tally).toStrictEqual(
      aTally({
        outcomes: { allowed: 1 },
        endpoints: { "GET /v1/machines/{id}": 1 },
        successful: 1,
        failed: 2,
        timedResponses: 2,
        responseTimeUs: 2_000,
        transferredBytes: 1_000,
      }),
    );
  });

  it("cuts a flush into batches of batchSize key-days, each with an id of its own", async () => {
    const { recorder, faulty } = setup(new MemoryUsageRepository(), { batchSize: 2 });
    const org = newId("org");
    for (let i = 0; i < 5; i++) recorder.record(check(org, newId("key")));
    await recorder.flush();
    expect(faulty.attempts).toHaveLength(3);
    expect(new Set(faulty.attempts).size).toBe(3);
    expect(await faulty.allowedRequests(org, WHOLE_MONTH)).toBe(5);
  });

  it("flushes early once the buffer holds a batch", async () => {
    const { recorder, faulty } = setup(new MemoryUsageRepository(), { batchSize: 3 });
    const org = newId("org");
    for (let i = 0; i < 3; i++) recorder.record(check(org, newId("key")));
    await new Promise((resolve) => setImmediate(resolve));
    await recorder.flush();
    expect(faulty.attempts).toHaveLength(1);
    expect(await faulty.allowedRequests(org, WHOLE_MONTH)).toBe(3);
  });

  it("ignores events it cannot place, and counts them", async () => {
    const { recorder, faulty, metrics } = setup(new MemoryUsageRepository());
    const org = newId("org");
    recorder.record(check(org, ""));
    recorder.record(check(org, newId("key"), { atMs: Number.NaN }));
    recorder.record(check(org, newId("key"), { outcome: "MAYBE" as CheckOutcome }));
    await recorder.flush();
    expect(faulty.attempts).toEqual([]);
    expect(metrics.value(USAGE_METRIC.invalidEvents)).toBe(3);
  });

  it("caps the buffer: increments for new key-days beyond it are dropped, counted and logged", async () => {
    const { recorder, faulty, metrics, lines } = setup(new MemoryUsageRepository(), { maxBufferedEntries: 3 });
    const org = newId("org");
    const keys = Array.from({ length: 5 }, () => newId("key"));
    for (const key of keys) recorder.record(check(org, key));
    recorder.record(check(org, keys[0]!));
    expect(metrics.value(USAGE_METRIC.dropped)).toBe(2);
    await recorder.close();
    expect(await faulty.allowedRequests(org, WHOLE_MONTH)).toBe(4);
    expect(lines).toContainEqual(expect.objectContaining({ msg: "usage buffer full: increments dropped", dropped: 2 }));
  });

  it("keeps at most MAX_ENDPOINTS_PER_KEY_DAY endpoints for a key a day; the rest count as * {other}", async () => {
    const { recorder, faulty } = setup(new MemoryUsageRepository(), { batchSize: 1 });
    const [org, key] = [newId("org"), newId("key")];
    for (let i = 0; i < MAX_ENDPOINTS_PER_KEY_DAY + 5; i++) {
      recorder.record(check(org, key, { path: `/page-${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26)}x` }));
      if (i % 40 === 0) await recorder.flush();
    }
    recorder.record(check(org, key, { path: "/page-a0x" }));
    await recorder.flush();
    const [usage] = await faulty.days(org, WHOLE_MONTH);
    expect(usage!.tally.endpoints.size).toBe(MAX_ENDPOINTS_PER_KEY_DAY + 1);
    expect(usage!.tally.endpoints.get("* {other}")).toBe(5);
    expect(usage!.tally.endpoints.get("GET /page-a0x")).toBe(2);
  });

  it("tells listeners what each batch wrote, until they stop listening", async () => {
    const { recorder } = setup(new MemoryUsageRepository(), { batchSize: 1 });
    const [org, keyA, keyB] = [newId("org"), newId("key"), newId("key")];
    const heard: FlushedUsage[] = [];
    const stop = recorder.onFlushed((flushed) => heard.push(flushed));
    expect(recorder.listenerCount).toBe(1);
    recorder.record(check(org, keyA));
    recorder.record(check(org, keyB, { outcome: "RATE_LIMITED" }));
    await recorder.flush();
    expect(heard.map((h) => h.entries.map((e) => [e.keyId, requestsOf(e.tally)]))).toEqual([[[keyA, 1]], [[keyB, 1]]]);
    expect(heard[0]!.observedAtMs).toBe(NOON);
    stop();
    expect(recorder.listenerCount).toBe(0);
    recorder.record(check(org, keyA));
    await recorder.flush();
    expect(heard).toHaveLength(2);
  });

  it("knows the allowed requests it holds but has not written", async () => {
    const { recorder, faulty } = setup(new MemoryUsageRepository());
    const [org, key] = [newId("org"), newId("key")];
    recorder.record(check(org, key));
    recorder.record(check(org, key, { outcome: "QUOTA_EXCEEDED" }));
    recorder.record(check(org, newId("key"), { atMs: Date.UTC(2031, 1, 28) }));
    recorder.record(check(newId("org"), key));
    faulty.faults.push("before");
    await expect(recorder.flush()).rejects.toThrow("store unavailable");
    recorder.record(check(org, key));
    expect(recorder.unflushedAllowed(org, WHOLE_MONTH)).toBe(2);
    await recorder.flush();
    expect(recorder.unflushedAllowed(org, WHOLE_MONTH)).toBe(0);
    expect(await faulty.allowedRequests(org, WHOLE_MONTH)).toBe(2);
  });

  it("keeps a key's counts apart per organization, and starts a past day afresh once it was flushed", async () => {
    const { recorder, faulty, clock } = setup(new MemoryUsageRepository());
    const [orgA, orgB, key] = [newId("org"), newId("org"), newId("key")];
    const yesterday = NOON - 86_400_000;
    recorder.record(check(orgA, key, { atMs: yesterday }));
    recorder.record(check(orgA, key));
    recorder.record(check(orgB, key, { path: "/v1/tags" }));
    recorder.record(check(orgB, key, { outcome: "RATE_LIMITED" }));
    expect(recorder.unflushedEntries).toBe(3);
    await recorder.flush();
    // A late event for yesterday, after the flush: a row of its own again, written as a second batch.
    recorder.record(check(orgA, key, { atMs: yesterday + 5 }));
    clock.advance(1);
    await recorder.flush();
    expect(faulty.attempts).toHaveLength(2);
    const [a, b] = await Promise.all([faulty.days(orgA, WHOLE_MONTH), faulty.days(orgB, WHOLE_MONTH)]);
    expect(a.map((usage) => [usage.day, requestsOf(usage.tally), usage.lastUsedAtMs])).toEqual([
      ["2031-03-14", 2, yesterday + 5],
      [DAY, 1, NOON],
    ]);
    expect(b).toHaveLength(1);
    expect(b[0]!.tally).toStrictEqual(aTally({ outcomes: { allowed: 1, RATE_LIMITED: 1 }, endpoints: { "GET /v1/tags": 1, "GET /v1/machines/{id}": 1 } }));
  });

  it("on close, tries a few times, then logs what it could not write", async () => {
    const { recorder, faulty, lines } = setup(new MemoryUsageRepository());
    recorder.record(check(newId("org"), newId("key")));
    faulty.faults.push("before", "before", "before", "before");
    await recorder.close();
    expect(faulty.attempts).toHaveLength(4);
    expect(new Set(faulty.attempts).size).toBe(1);
    expect(recorder.unflushedEntries).toBe(1);
    expect(lines).toContainEqual(expect.objectContaining({ msg: "usage not written at shutdown: these counts are lost", unflushedKeyDays: 1 }));
  });

  describe.each(stores)("on the %s store", (_, repository) => {
    it("counts recorded while a flush is in flight go to the next flush: none lost, none doubled", async () => {
      const { recorder, faulty } = setup(repository());
      const [org, key] = [newId("org"), newId("key")];
      recorder.record(check(org, key));
      const release = faulty.hold();
      const first = recorder.flush();
      recorder.record(check(org, key));
      recorder.record(check(org, newId("key")));
      const second = recorder.flush();
      recorder.record(check(org, key));
      release();
      await Promise.all([first, second]);
      expect(await faulty.allowedRequests(org, WHOLE_MONTH)).toBe(4);
      expect((await faulty.keyTotals(org, [key])).get(key)?.requests).toBe(3);
    });

    it.each(["before", "after"] as const)(
      "applies a batch whose write failed %s writing again, unchanged: nothing lost, nothing doubled",
      async (when) => {
        const { recorder, faulty, metrics } = setup(repository(), { batchSize: 2 });
        const org = newId("org");
        const keys = [newId("key"), newId("key"), newId("key")];
        for (const key of keys) recorder.record(check(org, key));
        faulty.faults.push("ok", when);
        await expect(recorder.flush()).rejects.toThrow();
        // Counts recorded during the outage wait in the buffer, including for the failed key-day.
        recorder.record(check(org, keys[2]!));
        recorder.record(check(org, keys[2]!, { outcome: "RATE_LIMITED" }));
        await recorder.flush();
        const [, failedId, retryId] = faulty.attempts;
        expect(retryId).toBe(failedId);
        expect(faulty.attempts).toHaveLength(4);
        expect(metrics.value(USAGE_METRIC.flushFailures)).toBe(1);
        expect(await faulty.allowedRequests(org, WHOLE_MONTH)).toBe(4);
        const totals = await faulty.keyTotals(org, keys);
        expect(keys.map((key) => totals.get(key)?.requests)).toEqual([1, 1, 3]);
      },
    );

    it("stays exact through 1,000 counts interleaved with flushes that fail before or after writing", async () => {
      const { recorder, faulty } = setup(repository(), { batchSize: 3 });
      const org = newId("org");
      const keys = Array.from({ length: 5 }, () => newId("key"));
      const next = random(42);
      const expected = new Map(keys.map((key) => [key, 0]));
      const flushes: Promise<void>[] = [];
      for (let i = 0; i < 1_000; i++) {
        const key = keys[Math.floor(next() * keys.length)]!;
        const day = Math.floor(next() * 3);
        recorder.record(check(org, key, { atMs: NOON - day * 86_400_000, outcome: next() < 0.8 ? "allowed" : "RATE_LIMITED" }));
        expected.set(key, expected.get(key)! + 1);
        if (i % 37 === 0) {
          const roll = next();
          faulty.faults.push(roll < 0.2 ? "before" : roll < 0.4 ? "after" : "ok");
          flushes.push(recorder.flush().catch(() => undefined));
        }
        if (i % 101 === 0) await Promise.resolve();
      }
      await Promise.all(flushes);
      faulty.faults.length = 0;
      await recorder.flush();
      expect(recorder.unflushedEntries).toBe(0);
      const totals = await faulty.keyTotals(org, keys);
      expect(new Map(keys.map((key) => [key, totals.get(key)?.requests ?? 0]))).toEqual(expected);
      const days = await faulty.days(org, WHOLE_MONTH);
      expect(days.reduce((sum, usage) => sum + requestsOf(usage.tally), 0)).toBe(1_000);
    });
  });
});
