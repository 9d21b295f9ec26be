import pino from "pino";
import { KeyCache } from "../../src/cache/key-cache.js";
import type { Config } from "../../src/config/config.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import type { KeyRecord } from "../../src/model/records.js";
import { emptyTally } from "../../src/model/usage-tally.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { MemoryUsageRepository } from "../../src/store/memory/usage-repository.js";
import type { KeyDayDelta, UsageRepository } from "../../src/store/usage-repository.js";
import { systemClock } from "../../src/time/clock.js";
import { utcDay } from "../../src/time/utc-days.js";
import { endpointNormalizer } from "../../src/usage/endpoint.js";
import { UsageMetrics } from "../../src/usage/usage-metrics.js";
import { UsageAggregator } from "../../src/usage/usage-recorder.js";
import { BENCH_PLAN, benchConfig, seedPopulation } from "./check-harness.js";
import { population } from "./keys.js";

/**
 * What keygate's per-key state costs, component by component (issue 16 asks docs/benchmark.md
 * for the breakdown), in a child process run with --expose-gc: each component is built alone for
 * N keys of the bench population, and its cost is the heap in use plus array buffers after two
 * full collections, with it built and filled, less the same before. What every component shares
 * (the keys' id and hash strings, as the cached records hold them) is built before, so each is
 * charged only for what it adds.
 */

export interface ComponentCost {
  component: string;
  heapBytesPerKey: number;
  arrayBufferBytesPerKey: number;
}

export interface MemoryBreakdown {
  keys: number;
  components: ComponentCost[];
  /** What a replica holds for keys in use: the cache, the limits, the recorder after a flush and the usage repository. */
  inUseBytesPerKey: number;
  elapsedS: number;
}

/** The components summed as the state of keys in use (the store holds every key, used or not). */
export const IN_USE = ["key cache", "LocalLimits", "usage recorder, after a flush", "usage repository"];

const gc = (globalThis as { gc?: () => void }).gc;

interface Snapshot {
  heap: number;
  arrayBuffers: number;
}

function snapshot(): Snapshot {
  if (gc === undefined) throw new Error("memory-breakdown needs node --expose-gc");
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, arrayBuffers };
}

/**
 * A snapshot once the turn has ended: what was let go in it (a WeakRef's target is kept to the end
 * of the job that made it) is gone too.
 */
async function settled(): Promise<Snapshot> {
  await new Promise((resolve) => setImmediate(resolve));
  return snapshot();
}

function cost(component: string, before: Snapshot, keys: number, after: Snapshot): ComponentCost {
  return { component, heapBytesPerKey: (after.heap - before.heap) / keys, arrayBufferBytesPerKey: (after.arrayBuffers - before.arrayBuffers) / keys };
}

/** A repository that takes every batch and keeps nothing: the recorder is measured without the store it writes to. */
const discarding: UsageRepository = {
  apply: async () => ({ rejected: [] }),
  days: async () => [],
  keyTotals: async () => new Map(),
  allowedRequests: async () => 0,
};

/**
 * A string as one flat sequence, as a record read from a store holds it. The population's ids are
 * built by concatenation, which V8 may keep as a tree of parts until something reads them; with
 * them as built, the component that read them first was charged for memory the collector then
 * handed back (the usage repository came out at -157 bytes a key of heap).
 */
const flat = (text: string): string => Buffer.from(text, "latin1").toString("latin1");

type KeyRef = Pick<KeyRecord, "id" | "organizationId" | "rateLimit" | "secretHash">;

/**
 * Each component is built in a function of its own and used after its measurement: it lives
 * through its own measurement, and is garbage by the next one's (an async function's locals may
 * outlive their last use until the function returns).
 */

async function measureCache(store: MemoryStore, config: Config, refs: readonly KeyRef[]): Promise<ComponentCost> {
  const before = await settled();
  const cache = new KeyCache({ store, keyEvents: new KeyEvents(), clock: systemClock, config });
  for (const ref of refs) if ((await cache.get(ref.secretHash)) === null) throw new Error(`key ${ref.id} not found`);
  const measured = cost("key cache", before, refs.length, await settled());
  cache.close();
  return measured;
}

async function measureLimits(refs: readonly KeyRef[]): Promise<ComponentCost> {
  const before = await settled();
  const limits = new LocalLimits({ clock: systemClock, loadMonthlyRequests: async () => 0 });
  const nowMs = systemClock.now();
  for (const ref of refs) {
    const admission = limits.admit(ref, BENCH_PLAN, nowMs);
    // The organization's first request waits for its month to be counted, then is admitted.
    if ("waitFor" in admission) {
      await admission.waitFor;
      limits.admit(ref, BENCH_PLAN, nowMs);
    }
  }
  const measured = cost("LocalLimits", before, refs.length, await settled());
  await limits.close();
  return measured;
}

async function measureRecorder(config: Config, refs: readonly KeyRef[], atMs: number): Promise<ComponentCost[]> {
  const before = await settled();
  const recorder = new UsageAggregator({
    repository: discarding,
    clock: systemClock,
    logger: pino({ level: "silent" }),
    metrics: new UsageMetrics(),
    normalizeEndpoint: endpointNormalizer(config.usageIdSegmentPattern),
    flushIntervalMs: config.usageFlushIntervalMs,
    batchSize: config.usageFlushBatchSize,
    maxBufferedEntries: config.usageBufferMaxEntries,
    retentionDays: config.usageRetentionDays,
  });
  // All in one turn, and measured before it ends: the early flush the full buffer asks for has not run.
  for (const ref of refs) recorder.record({ organizationId: ref.organizationId, keyId: ref.id, method: "GET", path: "/v1/machines/1", outcome: "allowed", atMs });
  const unflushed = cost("usage recorder, before a flush", before, refs.length, snapshot());
  await recorder.flush();
  await new Promise((resolve) => setImmediate(resolve));
  await recorder.flush();
  const flushed = cost("usage recorder, after a flush", before, refs.length, await settled());
  await recorder.close();
  return [unflushed, flushed];
}

async function measureUsage(config: Config, refs: readonly KeyRef[], atMs: number): Promise<ComponentCost> {
  const before = await settled();
  const usage = new MemoryUsageRepository();
  const day = utcDay(atMs);
  const endpoint = endpointNormalizer(config.usageIdSegmentPattern)("GET", "/v1/machines/1");
  const expireAtMs = atMs + (config.usageRetentionDays + 1) * 86_400_000;
  // In batches of the recorder's size, as its flushes apply them.
  for (let from = 0; from < refs.length; from += config.usageFlushBatchSize) {
    const entries = refs.slice(from, from + config.usageFlushBatchSize).map((ref): KeyDayDelta => {
      const tally = emptyTally();
      tally.outcomes.allowed = 1;
      tally.endpoints.set(endpoint, 1);
      return { organizationId: ref.organizationId, keyId: ref.id, day, lastUsedAtMs: atMs, tally, expireAtMs };
    });
    await usage.apply({ id: `memory-breakdown-${from}`, entries });
  }
  const measured = cost("usage repository", before, refs.length, await settled());
  if ((await usage.keyTotals(refs[0]!.organizationId, [refs[0]!.id])).size !== 1) throw new Error("the usage repository lost a key-day");
  return measured;
}

async function breakdown(seed: string, keys: number): Promise<MemoryBreakdown> {
  const began = performance.now();
  const config = benchConfig({
    KEYGATE_CACHE_MAX_ENTRIES: String(keys),
    KEYGATE_CACHE_MAX_BYTES: String(64 * 1024 ** 3),
    KEYGATE_USAGE_BUFFER_MAX_ENTRIES: String(Math.max(keys, 100_000)),
    LOG_LEVEL: "warn",
  });
  // The store is built first and stays: the cache loads through it.
  const before = await settled();
  const store = new MemoryStore();
  await store.init();
  await seedPopulation(store, seed, keys);
  const components = [cost("embedded key store", before, keys, await settled())];
  // The keys read back (generating the population again would take as long as seeding it).
  const refs: KeyRef[] = [];
  for (const organization of population(seed, keys, BENCH_PLAN.name).organizations) {
    for (const key of await store.keys.list(organization.id, { limit: keys })) {
      refs.push({ id: flat(key.id), organizationId: flat(key.organizationId), rateLimit: key.rateLimit, secretHash: flat(key.secretHash) });
    }
  }
  if (refs.length !== keys) throw new Error(`${refs.length} keys read back of ${keys} seeded`);
  components.push(await measureCache(store, config, refs));
  components.push(await measureLimits(refs));
  const atMs = systemClock.now();
  components.push(...(await measureRecorder(config, refs, atMs)));
  components.push(await measureUsage(config, refs, atMs));
  await store.close();
  const inUseBytesPerKey = components.filter((c) => IN_USE.includes(c.component)).reduce((sum, c) => sum + c.heapBytesPerKey + c.arrayBufferBytesPerKey, 0);
  return { keys, components, inUseBytesPerKey, elapsedS: (performance.now() - began) / 1_000 };
}

if (process.send !== undefined && process.argv[1] === new URL(import.meta.url).pathname) {
  const [seed, keys] = process.argv.slice(2) as [string, string];
  breakdown(seed, Number(keys)).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`memory-breakdown measurement failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
