import { randomBytes } from "node:crypto";
import pino from "pino";
import { LeasedLimits } from "../../src/limits/leased-limits.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { SecretHasher } from "../../src/model/secret.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { openStore } from "../../src/store/open-store.js";
import { systemClock } from "../../src/time/clock.js";
import { benchConfig, checkPath, seedPopulation, type CheckPath } from "./check-harness.js";
import { countingStore, LEASED_BUCKETS } from "./counting-store.js";
import { BENCH_PEPPER, benchSecret, HIT, ROLE_KEYS } from "./keys.js";
import { percentile } from "./load-result.js";
import { decodeCheckResponse, envoyCheckRequest, outcomeOf } from "./requests.js";

/**
 * What waiting for a lease costs a Check (issue 15), in a child process on the bench's mongod: the
 * Check path (check-harness.ts) with LeasedLimits on MongoDB, as app.ts runs it when the store is
 * shared, beside LocalLimits on the embedded store. There is no network, so what is timed is the
 * Check and the store round trip it may wait for. The store counts every lease() call and the
 * buckets in it (counting-store.ts), and times each, so every waiting Check is told how many asks
 * ended while it waited: one is the promise, two would be waiting behind an ask already in the air.
 *
 * - hot: 10 keys with ample budget, slices held: per-Check time and lease calls per 1,000 Checks,
 *   against LocalLimits on the embedded store, rounds alternating;
 * - first in window: distinct cached keys each Checked once (each bucket's first request in its
 *   window on this replica), one at a time with a turn of the event loop between them, as requests
 *   from a network arrive; and in bursts, all in one turn, where one ask carries them all;
 * - low limit: keys limited to 3 a minute (slices of one unit, so every admitted Check waits),
 *   three Checks each a turn apart; and a fourth, denied with no store call.
 */

export interface Latencies {
  count: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export interface HotResult {
  label: string;
  /** Mean time of a Check in its best round. */
  meanUs: number;
  latency: Latencies;
  checks: number;
  waited: number;
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
  /** Waiting Checks by the number of asks that ended while they waited. */
  asksWaitedOn: Record<number, number>;
  /** The lease() calls themselves, end to end. */
  roundTrip: Latencies;
  outcomes: Record<string, number>;
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
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

function latencies(us: readonly number[]): Latencies {
  const sorted = Float64Array.from(us).sort();
  return { count: sorted.length, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99), maxUs: sorted.length ? sorted[sorted.length - 1]! : NaN };
}

/** lease() calls as the counting store saw them: when each started and ended, and its buckets. */
interface Ask {
  startMs: number;
  endMs: number;
  buckets: number;
}

interface Timed {
  startMs: number;
  endMs: number;
  waited: boolean;
  outcome: string;
}

async function timeCheck(path: CheckPath, request: Uint8Array): Promise<Timed> {
  const startMs = performance.now();
  const answer = path.lean(request);
  const waited = answer instanceof Promise;
  const bytes = waited ? await answer : answer;
  const endMs = performance.now();
  return { startMs, endMs, waited, outcome: outcomeOf(decodeCheckResponse(bytes)) };
}

/** One Check per request, each in a turn of the event loop of its own, or all in the same turn. */
async function timeChecks(path: CheckPath, requests: readonly Uint8Array[], together: boolean): Promise<Timed[]> {
  if (together) {
    await turn();
    return Promise.all(requests.map((request) => timeCheck(path, request)));
  }
  const timed: Timed[] = [];
  for (const request of requests) {
    await turn();
    timed.push(await timeCheck(path, request));
  }
  return timed;
}

function phase(label: string, timed: readonly Timed[], asks: readonly Ask[]): WaitPhase {
  const waiting = timed.filter((t) => t.waited);
  const during = asks.filter((ask) => ask.endMs >= timed[0]!.startMs && ask.startMs <= Math.max(...timed.map((t) => t.endMs)));
  const asksWaitedOn: Record<number, number> = {};
  for (const t of waiting) {
    const n = during.filter((ask) => ask.endMs >= t.startMs && ask.endMs <= t.endMs).length;
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
    maxBucketsPerCall: Math.max(0, ...during.map((ask) => ask.buckets)),
    leasedBuckets: during.reduce((sum, ask) => sum + ask.buckets, 0),
    asksWaitedOn,
    roundTrip: latencies(during.map((ask) => (ask.endMs - ask.startMs) * 1_000)),
    outcomes,
  };
}

/** Rounds of hot Checks over `keys`, a turn handed back every CHECKS_PER_TURN; the best round's times. */
async function hotRound(path: CheckPath, requests: readonly Uint8Array[]): Promise<{ us: number[]; waited: number; wrong: number }> {
  const us: number[] = new Array<number>(HOT_CALLS);
  let waited = 0;
  let wrong = 0;
  for (let i = 0; i < HOT_CALLS; i++) {
    if (i % CHECKS_PER_TURN === 0) await turn();
    const started = performance.now();
    let answer = path.lean(requests[i % requests.length]!);
    if (answer instanceof Promise) {
      waited++;
      answer = await answer;
    }
    us[i] = (performance.now() - started) * 1_000;
    if (i % 4_096 === 0 && outcomeOf(decodeCheckResponse(answer)) !== "allowed") wrong++;
  }
  return { us, waited, wrong };
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
    const ask: Ask = { startMs: performance.now(), endMs: NaN, buckets: (args[0] as unknown[]).length };
    asks.push(ask);
    void (result as Promise<unknown>).finally(() => (ask.endMs = performance.now())).catch(() => {});
  });
  const leasedLimits = new LeasedLimits({
    leases: counted.store.budgets,
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

  const requests = range(0, KEYS).map((i) => envoyCheckRequest(benchSecret(seed, i)));
  // Every key cached first, so that what a Check waits for below is its lease, not its key.
  const hasher = new SecretHasher(BENCH_PEPPER);
  for (let i = 0; i < KEYS; i++) if ((await leased.keyCache.get(hasher.hash(benchSecret(seed, i)))) === null) throw new Error(`seeded key ${i} not found`);
  for (const i of HOT) await local.keyCache.get(hasher.hash(benchSecret(seed, i)));

  // Hot: a second of Checks on each (the leased one's first asks, its rate estimate rising), then
  // rounds alternating between them; each keeps its best round, the least disturbed.
  const hotRequests = HOT.map((i) => requests[i]!);
  for (const path of [leased, local]) {
    const warmUntil = performance.now() + 1_000;
    while (performance.now() < warmUntil) await hotRound(path, hotRequests);
  }
  const before = counted.operations();
  const hot = new Map([leased, local].map((path) => [path, { us: [] as number[], meanUs: Infinity, waited: 0 }]));
  for (let round = 0; round < HOT_ROUNDS; round++) {
    for (const [path, summary] of hot) {
      const result = await hotRound(path, hotRequests);
      if (result.wrong > 0) throw new Error(`${result.wrong} sampled hot Checks were not allowed`);
      summary.waited += result.waited;
      const meanUs = result.us.reduce((a, b) => a + b, 0) / result.us.length;
      if (meanUs < summary.meanUs) Object.assign(summary, { us: result.us, meanUs });
    }
  }
  const after = counted.operations();
  const hotResult = (label: string, path: CheckPath, leaseCalls: number, leasedBuckets: number): HotResult => {
    const { us, meanUs, waited } = hot.get(path)!;
    return { label, meanUs, latency: latencies(us), checks: HOT_ROUNDS * HOT_CALLS, waited, leaseCalls, leasedBuckets };
  };
  const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
  const hotResults = { leased: hotResult("LeasedLimits, MongoDB", leased, delta("budgets"), delta(LEASED_BUCKETS)), local: hotResult("LocalLimits, embedded", local, 0, 0) };

  const phases: WaitPhase[] = [];
  phases.push(phase("first in window, one at a time", await timeChecks(leased, requests.slice(firstSequential, firstBurst), false), asks));
  const burst: Timed[] = [];
  for (let b = 0; b < BURSTS; b++) burst.push(...(await timeChecks(leased, requests.slice(firstBurst + b * BURST, firstBurst + (b + 1) * BURST), true)));
  phases.push(phase(`first in window, ${BURST} at once`, burst, asks));
  const lowLimit = requests.slice(firstLowLimit);
  const admitted: Timed[] = [];
  for (let check = 0; check < LOW_LIMIT.limit; check++) admitted.push(...(await timeChecks(leased, lowLimit, false)));
  phases.push(phase(`limit ${LOW_LIMIT.limit} a ${LOW_LIMIT.period} (1-unit slices)`, admitted, asks));
  phases.push(phase(`  the same keys' next Check, over the limit`, await timeChecks(leased, lowLimit, false), asks));

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
