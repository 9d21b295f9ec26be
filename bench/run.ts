import { execFileSync, fork } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchCases, QUICK_CASES } from "./lib/cases.js";
import { COLD_KEYS, COLD_KEYS_TITLE, formatColdKeys, type ColdPass } from "./lib/cold-keys.js";
import { ensureH2load } from "./lib/h2load.js";
import type { InProcessResult } from "./lib/in-process.js";
import { LEASE_WAITS, LEASE_WAITS_TITLE, writeLeasedLimits } from "./lib/leased-report.js";
import type { LeaseWaitsResult } from "./lib/lease-waits.js";
import type { MemoryBreakdown } from "./lib/memory-breakdown.js";
import { formatMemory, MEMORY, MEMORY_KEYS } from "./lib/memory-report.js";
import { measurer, type Row } from "./lib/measure.js";
import { startMongo } from "./lib/mongod.js";
import { summarizeProfile } from "./lib/profile-summary.js";
import { fmt, medians, writeClusterGain, writeInProcess, writeResults } from "./lib/report.js";
import { writeScale } from "./lib/scale-report.js";

/**
 * `npm run bench` (issue 5): keygate's Check path under load, beside three baselines measured in
 * the same run with the same load generator and concurrency, interleaved round by round so that
 * noise from other work on the machine falls on all of them alike. Every server runs in its own
 * process, started fresh for each measurement (a spread case's Zipf twin takes over its warmed
 * server); the load comes from h2load (another process), or, for the scale cases (issue 16: the hot
 * key, then 100,000 and 1,000,000 keys in use, uniform and Zipf s=1.1, beside bare node:http2),
 * from the frame generator: pre-encoded HTTP/2 requests with the secret patched per request, sent
 * from worker threads (frame-load.ts), whose own CPU per Check is printed beside the server's. The
 * decisions are sampled with a gRPC client before and after each load, and in the load itself on
 * the frame generator.
 *
 *   npm run bench                 every case, 3 rounds of the headline cases (seeding and warming a
 *                                 million keys makes it long: see the scale cases' lines)
 *   npm run bench -- --quick      baselines, allowed-on-hit and the scale cases, short windows, 2 rounds
 *   options: --rounds N --duration S --clients C --streams M --only REGEX --profile --no-mongo --json FILE
 *            --only matches case ids (cases.ts), `lease-waits`, the in-process cost of waiting for a
 *            budget lease on MongoDB (lease-waits.ts), and `cold-keys`, Checks of first-seen keys on
 *            MongoDB, their lookups batched (cold-keys.ts); a case brings the baselines it is compared with
 *            (`--only '^scale-'` for the scale cases alone), and `memory`, the bytes per key of each
            component of keygate's per-key state, for 100,000 and 1,000,000 keys (memory-breakdown.ts)
 *            --compare DIR: also measure allowed-on-hit on the keygate built in DIR (another checkout
 *            with this bench copied in and built), interleaved with this one
 *
 * This file is the run: options, rounds and the order of the output. bench/lib/ holds the cases
 * (cases.ts), a server process (server-process.ts), one measurement (measure.ts), the MongoDB case's
 * mongod (mongod.ts), the waits for budget leases (lease-waits.ts) and the report (report.ts,
 * scale-report.ts, leased-report.ts), beside the generators they use.
 */

const here = dirname(fileURLToPath(import.meta.url));
const { values: options } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    clients: { type: "string", default: "4" },
    streams: { type: "string", default: "32" },
    only: { type: "string" },
    profile: { type: "boolean", default: false },
    "no-mongo": { type: "boolean", default: false },
    json: { type: "string" },
    compare: { type: "string" },
  },
});
const quick = options.quick;
const rounds = Number(options.rounds ?? (quick ? 2 : 3));
const durationS = Number(options.duration ?? (quick ? 2 : 6));
const clients = Number(options.clients);
const streams = Number(options.streams);
const seed = `bench${Date.now().toString(36)}`;
const workDir = mkdtempSync(join(tmpdir(), "keygate-bench-"));
const CASES = benchCases(seed, quick, options.compare);
const h2load = ensureH2load();
const measure = measurer({ seed, clients, streams, durationS, workDir, h2load, progress: (line) => process.stdout.write(line) });

/** A measurement in a child process of its own (bench/lib/<script>), which sends its result and exits. */
function measureInChild<T>(script: string, args: string[], execArgv: string[] = []): Promise<T> {
  return new Promise((resolveResult, reject) => {
    const child = fork(join(here, "lib", script), args, { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv });
    child.once("message", (result: T) => resolveResult(result));
    child.once("exit", (code) => code !== 0 && reject(new Error(`${script} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const only = options.only ? new RegExp(options.only) : undefined;
  const wanted = new Set(CASES.filter((c) => (quick ? QUICK_CASES.has(c.id) : true) && (only ? only.test(c.id) : true)).map((c) => c.id));
  // A case compared with another in the report brings that one along.
  for (const c of CASES) if (wanted.has(c.id)) for (const baseline of c.baselines ?? []) wanted.add(baseline);
  const selected = CASES.filter((c) => wanted.has(c.id));
  const leaseWaitsWanted = !quick && (only === undefined || only.test(LEASE_WAITS));
  const coldKeysWanted = !quick && (only === undefined || only.test(COLD_KEYS));
  const memoryWanted = !quick && (only === undefined || only.test(MEMORY));
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), node ${process.version}, h2load ${execFileSync(h2load, ["--version"], { encoding: "utf8" }).trim().split("\n")[0]}`;
  process.stdout.write(
    `keygate bench${quick ? " --quick" : ""}: ${machine}\n` +
      `load: ${clients} connections x ${streams} streams = ${clients * streams} calls in flight; ${durationS} s windows after 1 s warm-up; ` +
      `${rounds} interleaved round(s) of the headline cases; load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n\n`,
  );

  let mongo: ReturnType<typeof startMongo> | undefined;
  // The mongod of the MongoDB measurements, started on first need; or why there is none.
  const mongoOrWhyNot = () => (options["no-mongo"] ? "--no-mongo" : (mongo ??= startMongo()));
  const rows: Row[] = [];
  const skipped: Array<{ title: string; reason: string }> = [];
  let leaseWaits: LeaseWaitsResult | undefined;
  let coldKeys: ColdPass[] | undefined;
  const memory: MemoryBreakdown[] = [];
  const profileDir = options.profile ? mkdtempSync(join(tmpdir(), "keygate-prof-")) : undefined;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const testCase of selected) {
        if (round > 1 && !testCase.headline) continue;
        let mongoUri: string | undefined;
        if (testCase.mongo) {
          const server = await mongoOrWhyNot();
          if (typeof server === "string") {
            if (round === 1) skipped.push({ title: testCase.title, reason: server });
            continue;
          }
          mongoUri = server.uri;
        }
        const profile = profileDir && round === 1 && (testCase.id === "hit" || options.only !== undefined) ? profileDir : undefined;
        let row: Row;
        try {
          row = await measure(testCase, round, mongoUri, profile);
        } catch (error) {
          // A server that cannot hold a million keys (out of memory) is a finding, not a broken bench.
          if (testCase.generator !== "frames") throw error;
          const reason = `failed in round ${round}: ${error instanceof Error ? error.message : String(error)}`;
          skipped.push({ title: testCase.title, reason });
          process.stdout.write(`  round ${round} ${testCase.title.padEnd(62)} ${reason}\n`);
          continue;
        }
        rows.push(row);
        process.stdout.write(
          `  round ${round} ${row.title.padEnd(62)} ${fmt(row.load.rps).padStart(8)} req/s  p99 ${fmt(row.load.p99Ms, 2)} ms` +
            `${row.half ? `  (half rate p99 ${fmt(row.half.p99Ms, 2)} ms)` : ""}` +
            `${row.generatorCpuUsPerCheck !== undefined ? `  CPU per Check: server ${fmt(row.cpuSecondsPer10k * 100, 1)} µs, generator ${fmt(row.generatorCpuUsPerCheck, 1)} µs` : ""}` +
            `${row.scale?.warmS !== undefined && row.scale.sharedWith === undefined ? `  (warm pass over ${fmt(row.scale.keysInUse)} keys: ${fmt(row.scale.warmS, 1)} s)` : ""}\n`,
        );
      }
    }
    if (leaseWaitsWanted) {
      const server = await mongoOrWhyNot();
      if (typeof server === "string") skipped.push({ title: LEASE_WAITS_TITLE, reason: server });
      else leaseWaits = await measureInChild<LeaseWaitsResult>("lease-waits.js", [server.uri, seed]);
    }
    if (coldKeysWanted) {
      const server = await mongoOrWhyNot();
      if (typeof server === "string") skipped.push({ title: COLD_KEYS_TITLE, reason: server });
      else coldKeys = await measureInChild<ColdPass[]>("cold-keys.js", [server.uri]);
    }
    // A child per population, so that the larger one starts on a heap the smaller one never grew.
    if (memoryWanted) for (const keys of MEMORY_KEYS) memory.push(await measureInChild<MemoryBreakdown>("memory-breakdown.js", [seed, String(keys)], ["--expose-gc"]));
  } finally {
    await measure.close();
    const started = await mongo;
    if (started && typeof started !== "string") await started.stop();
  }

  const results = medians(rows);
  writeResults(CASES, results, skipped);
  writeScale(CASES, results, { clients, streams });
  const inProcess = only === undefined ? await measureInChild<InProcessResult>("in-process.js", quick ? ["--quick"] : []) : undefined;
  if (inProcess) writeInProcess(inProcess);
  writeClusterGain(results);
  writeLeasedLimits(results, leaseWaits);
  if (coldKeys) process.stdout.write(`\n${formatColdKeys(coldKeys)}`);
  if (memory.length > 0) process.stdout.write(`\n${formatMemory(memory)}`);

  process.stdout.write(`\nload average at end (1, 5, 15 min): ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${cpus().length} cores\n`);
  if (profileDir) {
    for (const file of readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile"))) {
      process.stdout.write(`\n${summarizeProfile(join(profileDir, file))}\n`);
    }
  }
  if (options.json) writeFileSync(options.json, JSON.stringify({ machine, clients, streams, durationS, rounds, rows, skipped, inProcess, leaseWaits, coldKeys, memory }, null, 2));
  rmSync(workDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
