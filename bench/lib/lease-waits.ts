import { randomBytes } from "node:crypto";
import pino from "pino";
import { LeasedLimits } from "../../src/limits/leased-limits.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { SecretHasher } from "../../src/model/secret.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { openStore } from "../../src/store/open-store.js";
import { systemClock } from "../../src/time/clock.js";
import type { BudgetLeaseRequest } from "../../src/store/store.js";
import { BENCH_PLAN, benchConfig, checkPath, seedPopulation, type CheckPath } from "./check-harness.js";
import { countingStore, LEASED_BUCKETS } from "./counting-store.js";
import { BENCH_PEPPER, benchSecret, HIT, population, ROLE_KEYS } from "./keys.js";
import { percentile } from "./load-result.js";
import { decodeCheckResponse, envoyCheckRequest, outcomeOf } from "./requests.js";

/**
 * What waiting for a lease costs a Check (issue 15), in a child process on the bench's mongod: the
 * Check path (check-harness.ts) with LeasedLimits on MongoDB, as app.ts runs it when the store is
 * shared, beside LocalLimits on the embedded store. There is no network, so what is timed is the
 * Check and the store round trip it may wait for. The store counts every lease() call and the
 * buckets in it (counting-store.ts), and times each, so every waiting Check is told how many
 * round trips for its buckets it sat through one after another (serialAsks): one is the promise.
 *
 * - hot: 10 keys with ample budget, slices held: CPU and latency per Check and lease calls per
 *   1,000 Checks, against LocalLimits on the embedded store, the two taking turns;
 * - first in window: distinct cached keys each Checked once (each bucket's first request in its
 *   window on this replica), one at a time with a turn of the event loop between them, as requests
 *   from a network arrive; and in bursts, all in one turn, where one ask carries them all;
 * - low limit: keys limited to 3 a minute (slices of one unit, so every admitted Check waits),
 *   three Checks each a turn apart; and a fourth, denied with no store call;
 * - idle: keys of the first row again once idle long enough for their slices to have gone back.
 */

export interface Latencies {
  count: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export interface HotResult {
  label: string;
  /** CPU per Check in its best round (this process: the driver's work for the asks ahead included). */
  cpuUs: number;
  latency: Latencies;
  checks: number;
  waited: number;
  /** Of those, the ones in the first second of a minute: the organization's minute window opening. */
  waitedAtMinuteStart: number;
  leaseCalls: number;
  leasedBuckets: number;
}

export interface WaitPhase {
  label: string;
  checks: number;
  /** Checks the limits made wait (the lean path answered with a promise). */
  waited: number;
  /** Of the Checks that waited. */
  latency: Latencies;
  leaseCalls: number;
  /** Buckets per lease() call: largest, and all of them over the calls. */
  maxBucketsPerCall: number;
  leasedBuckets: number;
  /** Waiting Checks by the number of round trips they sat through one after another (serialAsks). */
  asksWaitedOn: Record<number, number>;
  /** The lease() calls themselves, end to end. */
  roundTrip: Latencies;
  outcomes: Record<string, number>;
  /** The decision every Check of the phase should get: the limits leave room, or the key's is spent. */
  expect: string;
}

export interface LeaseWaitsResult {
  hot: { leased: HotResult; local: HotResult };
  phases: WaitPhase[];
  seedMs: number;
  elapsedS: number;
}

const HOT_KEYS = 10;
const SEQUENTIAL = 200;
const BURSTS = 4;
const BURST = 50;
const LOW_LIMIT_KEYS = 40;
const LOW_LIMIT = { limit: 3, period: "minute" } as const;
/** Keys Checked again once idle long enough for their slices to have gone back (2 s idle, swept every second). */
const AGAIN = 100;
const IDLE_MS = 3_500;
const HOT_ROUNDS = 3;
const HOT_CALLS = 50_000;
/** A server hands the event loop back after a socket's worth of Checks; so does the hot loop. */
const CHECKS_PER_TURN = 64;

// The hot keys are the allowed key and keys shaped like it (keys.ts gives 1 and 2 other roles).
const HOT = [HIT, ...Array.from({ length: HOT_KEYS - 1 }, (_, i) => ROLE_KEYS + i)];
const firstSequential = ROLE_KEYS + HOT_KEYS - 1;
const firstBurst = firstSequential + SEQUENTIAL;
const firstLowLimit = firstBurst + BURSTS * BURST;
const KEYS = firstLowLimit + LOW_LIMIT_KEYS;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function latencies(us: readonly number[]): Latencies {
  const sorted = Float64Array.from(us).sort();
  return { count: sorted.length, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99), maxUs: sorted.length ? sorted[sorted.length - 1]! : NaN };
}

/** lease() calls as the counting store saw them: when each started and ended, and its buckets. */
interface Ask {
  startMs: number;
  endMs: number;
  buckets: string[];
}

/** One key's Check request, and the ids its buckets are named by (the key's, its organization's). */
interface Probe {
  request: Uint8Array;
  ids: [string, string];
}

interface Timed {
  probe: Probe;
  startMs: number;
  endMs: number;
  waited: boolean;
  outcome: string;
}

async function timeCheck(path: CheckPath, probe: Probe): Promise<Timed> {
  const startMs = performance.now();
  const answer = path.lean(probe.request);
  const waited = answer instanceof Promise;
  const bytes = waited ? await answer : answer;
  const endMs = performance.now();
  return { probe, startMs, endMs, waited, outcome: outcomeOf(decodeCheckResponse(bytes)) };
}

/** One Check per probe, each in a turn of the event loop of its own (as requests from a network come), or all in one turn. */
async function timeChecks(path: CheckPath, probes: readonly Probe[], together: boolean): Promise<Timed[]> {
  if (together) {
    await turn();
    return Promise.all(probes.map((probe) => timeCheck(path, probe)));
  }
  const timed: Timed[] = [];
  for (const probe of probes) {
    await turn();
    timed.push(await timeCheck(path, probe));
  }
  return timed;
}

/**
 * The round trips a waiting Check sat through one after another: of the asks for its buckets that
 * ended while it waited, the most that did not overlap (one: it waited on one ask; two: it came
 * while an ask for its bucket was in the air and waited for that one and the next).
 */
function serialAsks(t: Timed, asks: readonly Ask[]): number {
  const mine = asks
    .filter((ask) => ask.endMs >= t.startMs && ask.endMs <= t.endMs && ask.buckets.some((bucket) => t.probe.ids.some((id) => bucket.includes(id))))
    .sort((x, y) => x.endMs - y.endMs);
  let serial = 0;
  let lastEndMs = Number.NEGATIVE_INFINITY;
  for (const ask of mine) {
    if (ask.startMs < lastEndMs) continue;
    serial++;
    lastEndMs = ask.endMs;
  }
  return serial;
}

function phase(label: string, timed: readonly Timed[], asks: readonly Ask[], expect = "allowed"): WaitPhase {
  const waiting = timed.filter((t) => t.waited);
  const fromMs = Math.min(...timed.map((t) => t.startMs));
  const toMs = Math.max(...timed.map((t) => t.endMs));
  const during = asks.filter((ask) => ask.endMs >= fromMs && ask.startMs <= toMs);
  const asksWaitedOn: Record<number, number> = {};
  for (const t of waiting) {
    const n = serialAsks(t, during);
    asksWaitedOn[n] = (asksWaitedOn[n] ?? 0) + 1;
  }
  const outcomes: Record<string, number> = {};
  for (const t of timed) outcomes[t.outcome] = (outcomes[t.outcome] ?? 0) + 1;
  return {
    label,
    checks: timed.length,
    waited: waiting.length,
    latency: latencies(waiting.map((t) => (t.endMs - t.startMs) * 1_000)),
    leaseCalls: during.length,
    maxBucketsPerCall: Math.max(0, ...during.map((ask) => ask.buckets.length)),
    leasedBuckets: during.reduce((sum, ask) => sum + ask.buckets.length, 0),
    asksWaitedOn,
    roundTrip: latencies(during.map((ask) => (ask.endMs - ask.startMs) * 1_000)),
    outcomes,
    expect,
  };
}

interface HotTally {
  us: number[];
  cpuUs: number;
  waited: number;
  waitedAtMinuteStart: number;
}

/**
 * HOT_CALLS Checks on each path over the hot keys, in turns of CHECKS_PER_TURN taken by the paths
 * in alternation, so that noise falls on both alike and neither path's keys sit idle (a bucket
 * idle for 2 s gives its slice back, and its next request waits).
 */
async function hotRound(paths: readonly CheckPath[], requests: readonly Uint8Array[]): Promise<HotTally[]> {
  const tallies = paths.map((): HotTally => ({ us: new Array<number>(HOT_CALLS), cpuUs: 0, waited: 0, waitedAtMinuteStart: 0 }));
  for (let from = 0; from < HOT_CALLS; from += CHECKS_PER_TURN) {
    for (let p = 0; p < paths.length; p++) {
      await turn();
      const tally = tallies[p]!;
      const cpu = process.cpuUsage();
      for (let i = from; i < Math.min(HOT_CALLS, from + CHECKS_PER_TURN); i++) {
        const started = performance.now();
        let answer = paths[p]!.lean(requests[i % requests.length]!);
        if (answer instanceof Promise) {
          tally.waited++;
          if (Date.now() % 60_000 < 1_000) tally.waitedAtMinuteStart++;
          answer = await answer;
        }
        tally.us[i] = (performance.now() - started) * 1_000;
        if (i % 4_096 === 0 && outcomeOf(decodeCheckResponse(answer)) !== "allowed") throw new Error("a hot Check was not allowed");
      }
      const used = process.cpuUsage(cpu);
      tally.cpuUs += (used.user + used.system) / HOT_CALLS;
    }
  }
  return tallies;
}

async function measure(mongoUri: string, seed: string): Promise<LeaseWaitsResult> {
  const began = performance.now();
  const config = benchConfig({ MONGODB_URI: mongoUri, MONGODB_DB: `keygate_bench_leases_${seed.replace(/\W/g, "_")}`, LOG_LEVEL: "warn" });
  const backing = await openStore(config);
  const seedStarted = performance.now();
  await seedPopulation(backing, seed, KEYS, (key, index) => (index >= firstLowLimit ? { ...key, rateLimit: LOW_LIMIT } : key));
  const seedMs = performance.now() - seedStarted;

  const asks: Ask[] = [];
  const counted = countingStore(backing, (repository, method, args, result) => {
    if (repository !== "budgets" || method !== "lease") return;
    const ask: Ask = { startMs: performance.now(), endMs: NaN, buckets: (args[0] as BudgetLeaseRequest[]).map((request) => request.bucket) };
    asks.push(ask);
    void (result as Promise<unknown>).finally(() => (ask.endMs = performance.now())).catch(() => {});
  });
  const leasedLimits = new LeasedLimits({
    leases: counted.store.budgets,
    replicas: counted.store.replicas,
    clock: systemClock,
    holder: randomBytes(12).toString("base64url"),
    waitMs: config.storeReadTimeoutMs,
    outageAllowance: config.limitsOutageAllowance,
    logger: pino({ level: "warn" }),
    loadMonthlyRequests: async () => 0,
  });
  const leased = checkPath(config, counted.store, leasedLimits);
  const memory = new MemoryStore();
  await memory.init();
  await seedPopulation(memory, seed, firstSequential);
  const local = checkPath(config, memory, new LocalLimits({ clock: systemClock, loadMonthlyRequests: async () => 0 }));

  const probes = [...population(seed, KEYS, BENCH_PLAN.name).keys()].map((key, i): Probe => ({ request: envoyCheckRequest(benchSecret(seed, i)), ids: [key.id, key.organizationId] }));
  // Every key cached first, so that what a Check waits for below is its lease, not its key.
  const hasher = new SecretHasher(BENCH_PEPPER);
  for (let i = 0; i < KEYS; i++) if ((await leased.keyCache.get(hasher.hash(benchSecret(seed, i)))) === null) throw new Error(`seeded key ${i} not found`);
  for (const i of HOT) await local.keyCache.get(hasher.hash(benchSecret(seed, i)));

  // Hot: a round to warm up (the leased path's first asks, its rate estimates rising), then the
  // measured rounds; each path keeps its best round, the least disturbed.
  const hotRequests = HOT.map((i) => probes[i]!.request);
  const paths = [leased, local];
  await hotRound(paths, hotRequests);
  const before = counted.operations();
  const hot = paths.map((): HotTally => ({ us: [], cpuUs: Infinity, waited: 0, waitedAtMinuteStart: 0 }));
  for (let round = 0; round < HOT_ROUNDS; round++) {
    const tallies = await hotRound(paths, hotRequests);
    tallies.forEach((tally, p) => {
      const best = hot[p]!;
      best.waited += tally.waited;
      best.waitedAtMinuteStart += tally.waitedAtMinuteStart;
      if (tally.cpuUs < best.cpuUs) Object.assign(best, { us: tally.us, cpuUs: tally.cpuUs });
    });
  }
  const after = counted.operations();
  const hotResult = (label: string, path: CheckPath, leaseCalls: number, leasedBuckets: number): HotResult => {
    const { us, cpuUs, waited, waitedAtMinuteStart } = hot[paths.indexOf(path)]!;
    return { label, cpuUs, latency: latencies(us), checks: HOT_ROUNDS * HOT_CALLS, waited, waitedAtMinuteStart, leaseCalls, leasedBuckets };
  };
  const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
  const hotResults = { leased: hotResult("LeasedLimits, MongoDB", leased, delta("budgets"), delta(LEASED_BUCKETS)), local: hotResult("LocalLimits, embedded", local, 0, 0) };

  const phases: WaitPhase[] = [];
  const sequential = await timeChecks(leased, probes.slice(firstSequential, firstBurst), false);
  phases.push(phase("first in window, one at a time", sequential, asks));
  const burst: Timed[] = [];
  for (let b = 0; b < BURSTS; b++) burst.push(...(await timeChecks(leased, probes.slice(firstBurst + b * BURST, firstBurst + (b + 1) * BURST), true)));
  phases.push(phase(`first in window, ${BURST} at once`, burst, asks));
  // A client making a few calls in a row: each key's Checks a turn apart, up to its limit, then one more.
  const lowLimit = probes.slice(firstLowLimit);
  const admitted: Timed[] = [];
  for (const probe of lowLimit) admitted.push(...(await timeChecks(leased, Array<Probe>(LOW_LIMIT.limit).fill(probe), false)));
  phases.push(phase(`limit ${LOW_LIMIT.limit} a ${LOW_LIMIT.period} (1-unit slices), in a row`, admitted, asks));
  phases.push(phase(`  the same keys' next Check, over the limit`, await timeChecks(leased, lowLimit, false), asks, "RATE_LIMITED"));
  // A key used every few seconds: its slice went back while it was idle.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, sequential.at(-1)!.endMs + IDLE_MS - performance.now())));
  phases.push(phase(`keys of the first row again, ${IDLE_MS / 1_000} s idle`, await timeChecks(leased, probes.slice(firstSequential, firstSequential + AGAIN), false), asks));

  await leasedLimits.close();
  await backing.close();
  return { hot: hotResults, phases, seedMs, elapsedS: (performance.now() - began) / 1_000 };
}

if (process.send !== undefined && process.argv[1] === new URL(import.meta.url).pathname) {
  const [mongoUri, seed] = process.argv.slice(2) as [string, string];
  measure(mongoUri, seed).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`lease-waits measurement failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
