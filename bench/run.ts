import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runGrpcLoad } from "./lib/grpc-load.js";
import { ensureH2load, runH2load, runH2loadPaced } from "./lib/h2load.js";
import { benchSecret, HIT, LIMITED, malformedSecret, NO_SCOPE, unknownSecret } from "./lib/keys.js";
import type { LoadResult } from "./lib/load-result.js";
import type { InProcessResult } from "./lib/in-process.js";
import { summarizeProfile } from "./lib/profile-summary.js";
import { envoyCheckRequest, grpcFrame } from "./lib/requests.js";
import { sampleOutcomes } from "./lib/sample.js";
import { addCounts, type ServerMessage, type ServerStats, type StatsMessage } from "./lib/server-stats.js";

/**
 * `npm run bench` (issue 5): keygate's Check path under load, beside three baselines measured in
 * the same run with the same load generator and concurrency, interleaved round by round so that
 * noise from other work on the machine falls on all of them alike. Every server runs in its own
 * process, started fresh for each measurement; the load comes from h2load (another process), or
 * for the case h2load cannot express (a different key per request) from @grpc/grpc-js clients in
 * worker threads. The decisions are sampled with a gRPC client before and after each load.
 *
 *   npm run bench                 every case, 3 rounds of the headline cases (a few minutes)
 *   npm run bench -- --quick      baselines and allowed-on-hit only, short windows (under a minute)
 *   options: --rounds N --duration S --clients C --streams M --only REGEX --profile --no-mongo --json FILE
 *            --compare DIR: also measure allowed-on-hit on the keygate built in DIR (another checkout
 *            with this bench copied in and built), interleaved with this one
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

type ServerKind = "bare-http2" | "connect-noop" | "grpcjs-noop" | "keygate";

interface Case {
  id: string;
  title: string;
  server: ServerKind;
  /** keygate: keys in the store, workers, MongoDB. */
  keys?: number;
  workers?: number;
  mongo?: boolean;
  /** The key presented, and the decision every response must carry. */
  secret: () => string;
  expect: string;
  /** h2load (one request body), or grpc-js cycling through every key of the store. */
  generator: "h2load" | "grpc-js";
  /** Repeated every round (the headline comparison); others run once. */
  headline?: boolean;
  /** Also measured at half its throughput, for the p99 target. */
  halfRate?: boolean;
  /** The server script's build directory, when not this checkout's (--compare). */
  buildDir?: string;
}

const hitSecret = () => benchSecret(seed, HIT);
const CASES: Case[] = [
  { id: "a", title: "(a) bare node:http2, fixed OK", server: "bare-http2", secret: hitSecret, expect: "allowed", generator: "h2load", headline: true, halfRate: true },
  { id: "b", title: "(b) no-op Check, connect-node", server: "connect-noop", secret: hitSecret, expect: "allowed", generator: "h2load", headline: true },
  { id: "c", title: "(c) no-op Check, grpc-js", server: "grpcjs-noop", secret: hitSecret, expect: "allowed", generator: "h2load", headline: true },
  { id: "hit", title: "keygate allowed, cache hit (10 keys)", server: "keygate", keys: 10, secret: hitSecret, expect: "allowed", generator: "h2load", headline: true, halfRate: true },
  { id: "cluster", title: "keygate allowed, cache hit, 2 workers", server: "keygate", keys: 10, workers: 2, secret: hitSecret, expect: "allowed", generator: "h2load", headline: !quick },
  { id: "scope", title: "keygate denied: scope missing", server: "keygate", keys: 10, secret: () => benchSecret(seed, NO_SCOPE), expect: "SCOPE_MISSING", generator: "h2load" },
  { id: "limited", title: "keygate denied: rate limited", server: "keygate", keys: 10, secret: () => benchSecret(seed, LIMITED), expect: "RATE_LIMITED", generator: "h2load" },
  { id: "unknown", title: "keygate denied: unknown key (negative cache)", server: "keygate", keys: 10, secret: () => unknownSecret(seed), expect: "API_KEY_INVALID", generator: "h2load" },
  { id: "malformed", title: "keygate denied: malformed key (checksum)", server: "keygate", keys: 10, secret: () => malformedSecret(seed), expect: "API_KEY_INVALID", generator: "h2load" },
  { id: "hit100k", title: "keygate allowed, cache hit (100,000 keys, one hot)", server: "keygate", keys: 100_000, secret: hitSecret, expect: "allowed", generator: "h2load" },
  { id: "a-grpc", title: "(a) bare node:http2, grpc-js generator", server: "bare-http2", secret: hitSecret, expect: "allowed", generator: "grpc-js" },
  { id: "spread100k", title: "keygate allowed, 100,000 keys all cached, grpc-js generator", server: "keygate", keys: 100_000, secret: hitSecret, expect: "allowed", generator: "grpc-js" },
  { id: "mongo", title: "keygate allowed, cache hit, MongoDB (under Wine)", server: "keygate", keys: 10, mongo: true, secret: hitSecret, expect: "allowed", generator: "h2load" },
];
if (options.compare !== undefined) {
  const buildDir = resolve(options.compare, "dist", "bench-build", "bench");
  CASES.splice(4, 0, { ...CASES.find((c) => c.id === "hit")!, id: "compare", title: `keygate allowed, cache hit, build in ${options.compare}`, buildDir, halfRate: false });
}
const QUICK_CASES = new Set(["a", "b", "c", "hit", "compare"]);

interface Running {
  port: number;
  info: Record<string, unknown>;
  stats(settle?: boolean): Promise<ServerStats>;
  stop(): Promise<void>;
}

async function startServer(testCase: Case, mongoUri: string | undefined, profileDir: string | undefined): Promise<Running> {
  const script = join(testCase.buildDir ?? here, "servers", `${testCase.server}.js`);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production" };
  delete env["MONGODB_URI"];
  if (testCase.mongo) env["MONGODB_URI"] = mongoUri;
  env["BENCH_KEYGATE"] = JSON.stringify({ keys: testCase.keys ?? 10, seed, workers: testCase.workers ?? 1 });
  // The grpc-js warm pass over 100,000 keys takes longer than the default 30 s cache TTL; a longer
  // TTL keeps the case what it says (every key cached), as a deployment with many keys would set it.
  if ((testCase.keys ?? 0) >= 100_000) env["KEYGATE_CACHE_TTL_MS"] = "600000";
  // --expose-gc only lets the bench ask for a collection before reading settled memory.
  const execArgv = ["--expose-gc", ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])];
  const child: ChildProcess = fork(script, [], { env, execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting = new Map<number, (stats: ServerStats) => void>();
  let nextId = 1;
  const ready = await new Promise<{ port: number; info: Record<string, unknown> }>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${testCase.server} did not start in 120 s`)), 120_000);
    child.once("exit", (code) => reject(new Error(`${testCase.server} exited with ${code} before listening`)));
    child.on("message", (message: ServerMessage) => {
      if (message.type === "ready") {
        clearTimeout(timer);
        resolveReady({ port: message.port, info: message.info ?? {} });
      } else if (message.type === "stats") waiting.get(message.id)?.(message);
    });
  });
  child.removeAllListeners("exit");
  return {
    ...ready,
    stats: (settle = false) =>
      new Promise((resolveStats) => {
        const id = nextId++;
        waiting.set(id, resolveStats);
        child.send({ type: "stats", id, settle } satisfies StatsMessage);
      }),
    stop: () =>
      new Promise((resolveStop) => {
        if (child.exitCode !== null) return resolveStop();
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolveStop();
        });
        child.send({ type: "stop" } satisfies StatsMessage);
      }),
  };
}

interface Row {
  id: string;
  title: string;
  round: number;
  load: LoadResult;
  cpuSecondsPer10k: number;
  peakRssMb: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
  /** RSS after a full collection at the end: what the process really holds. */
  settledRssMb: number;
  /** Key and organization reads per Check in the window (null: not counted); other store calls. */
  storeOpsPerCheck: number | null;
  otherStoreOps: Record<string, number>;
  verified: string;
  half?: LoadResult;
  info: Record<string, unknown>;
}

const bodyFiles = new Map<string, string>();
function bodyFile(secret: string): string {
  let file = bodyFiles.get(secret);
  if (file === undefined) {
    file = join(workDir, `request-${bodyFiles.size}.bin`);
    writeFileSync(file, grpcFrame(envoyCheckRequest(secret)));
    bodyFiles.set(secret, file);
  }
  return file;
}

function judge(expect: string, outcomes: Record<string, number>): string | null {
  const wrong = Object.entries(outcomes).filter(([outcome]) => outcome !== expect);
  return wrong.length === 0 ? null : `expected only ${expect}, got ${JSON.stringify(outcomes)}`;
}

const h2load = ensureH2load();

async function measure(testCase: Case, round: number, mongoUri: string | undefined, profileDir: string | undefined): Promise<Row> {
  const server = await startServer(testCase, mongoUri, profileDir);
  try {
    const message = envoyCheckRequest(testCase.secret());
    const body = bodyFile(testCase.secret());
    // The first call loads the key into the cache (and, for the limited key, spends its one request).
    await sampleOutcomes(server.port, message, 1);
    const before = await sampleOutcomes(server.port, message, 20);
    const problem = judge(testCase.expect, before);
    if (problem) throw new Error(`${testCase.title}: before the load, ${problem}`);

    const h2 = { port: server.port, bodyFile: body, clients, streams, logDir: workDir };
    const grpcLoad = { port: server.port, seed, keys: testCase.keys ?? 1, threads: 1, connections: clients, streams, durationS };
    if (testCase.generator === "h2load") await runH2load(h2load, { ...h2, durationS: 1 });
    else {
      await runGrpcLoad({ ...grpcLoad, warm: true, durationS: 0 });
      await runGrpcLoad({ ...grpcLoad, warm: false, durationS: 1 });
    }
    const s0 = await server.stats();
    const load = testCase.generator === "h2load" ? await runH2load(h2load, { ...h2, durationS }) : await runGrpcLoad({ ...grpcLoad, warm: false });
    const s1 = await server.stats();
    let half: LoadResult | undefined;
    if (testCase.halfRate) {
      half = await runH2loadPaced(h2load, { port: server.port, bodyFile: body, logDir: workDir, ratePerSecond: Math.max(10, Math.floor(load.rps / 2)), durationS, processes: 10 });
    }

    const after = await sampleOutcomes(server.port, message, 20);
    const settled = await server.stats(true);
    const problemAfter = judge(testCase.expect, after) ?? (load.failed > 0 ? `${load.failed} failed requests` : null);
    const loadProblem = testCase.generator === "grpc-js" ? judge(testCase.expect, load.outcomes) : null;
    const ops = addCounts(s1.storeOps, s0.storeOps, -1);
    const cpuUs = s1.cpuUserUs + s1.cpuSystemUs - (s0.cpuUserUs + s0.cpuSystemUs);
    const checked = Object.values(before).reduce((a, b) => a + b, 0) + Object.values(after).reduce((a, b) => a + b, 0);
    const sampledInLoad = Object.values(load.outcomes).reduce((a, b) => a + b, 0);
    return {
      id: testCase.id,
      title: testCase.title,
      round,
      load,
      cpuSecondsPer10k: cpuUs / 1e6 / (load.requests / 10_000),
      peakRssMb: s1.maxRssBytes / 2 ** 20,
      rssMb: s1.rssBytes / 2 ** 20,
      heapMb: settled.heapUsedBytes / 2 ** 20,
      externalMb: settled.externalBytes / 2 ** 20,
      settledRssMb: settled.rssBytes / 2 ** 20,
      storeOpsPerCheck: testCase.server !== "keygate" ? null : ((ops.keys ?? 0) + (ops.organizations ?? 0)) / load.requests,
      otherStoreOps: Object.fromEntries(Object.entries(ops).filter(([name, n]) => name !== "keys" && name !== "organizations" && n !== 0)),
      verified:
        problemAfter ?? loadProblem ?? `${checked}${sampledInLoad ? ` + ${sampledInLoad} in load` : ""} sampled ${testCase.expect}`,
      ...(half && { half }),
      info: server.info,
    };
  } finally {
    await server.stop();
  }
}

function startMongo(): { uri: string; stop(): void } | string {
  // The shared tools sit beside the repository: <repo>/../shared (here is <repo>/dist/bench-build/bench).
  const script = resolve(here, "..", "..", "..", "..", "shared", "mongod", "start");
  if (!existsSync(script)) return `no ${script} on this machine`;
  try {
    const port = String(27_200 + (process.pid % 500));
    const output = execFileSync("bash", [script, port], { cwd: resolve(here, "..", "..", ".."), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
    const uri = /MONGODB_URI='([^']+)'/.exec(output)?.[1];
    const dir = /data and log in (\S+);/.exec(output)?.[1];
    if (!uri || !dir) return `unexpected output from ${script}: ${output}`;
    return {
      uri,
      stop: () => {
        try {
          process.kill(Number(readFileSync(join(dir, "mongod.pid"), "utf8")), "SIGTERM");
        } catch {
          // already gone
        }
      },
    };
  } catch (error) {
    return `mongod did not start: ${(error as Error).message.split("\n")[0]}`;
  }
}

function measureInProcess(): Promise<InProcessResult> {
  return new Promise((resolveResult, reject) => {
    const child = fork(join(here, "lib", "in-process.js"), quick ? ["--quick"] : [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", (result: InProcessResult) => resolveResult(result));
    child.once("exit", (code) => code !== 0 && reject(new Error(`in-process measurement exited with ${code}`)));
  });
}

// ---------------------------------------------------------------------------------------------

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "-");
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)]!;

async function main(): Promise<void> {
  const only = options.only ? new RegExp(options.only) : undefined;
  const selected = CASES.filter((c) => (quick ? QUICK_CASES.has(c.id) : true) && (only ? only.test(c.id) : true));
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), node ${process.version}, h2load ${execFileSync(h2load, ["--version"], { encoding: "utf8" }).trim().split("\n")[0]}`;
  process.stdout.write(
    `keygate bench${quick ? " --quick" : ""}: ${machine}\n` +
      `load: ${clients} connections x ${streams} streams = ${clients * streams} calls in flight; ${durationS} s windows after 1 s warm-up; ` +
      `${rounds} interleaved round(s) of the headline cases; load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n\n`,
  );

  let mongo: ReturnType<typeof startMongo> | undefined;
  const rows: Row[] = [];
  const skipped: Array<{ title: string; reason: string }> = [];
  const profileDir = options.profile ? mkdtempSync(join(tmpdir(), "keygate-prof-")) : undefined;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const testCase of selected) {
        if (round > 1 && !testCase.headline) continue;
        let mongoUri: string | undefined;
        if (testCase.mongo) {
          if (options["no-mongo"]) {
            skipped.push({ title: testCase.title, reason: "--no-mongo" });
            continue;
          }
          mongo ??= startMongo();
          if (typeof mongo === "string") {
            skipped.push({ title: testCase.title, reason: mongo });
            continue;
          }
          mongoUri = mongo.uri;
        }
        const profile = profileDir && round === 1 && (testCase.id === "hit" || options.only !== undefined) ? profileDir : undefined;
        const row = await measure(testCase, round, mongoUri, profile);
        rows.push(row);
        process.stdout.write(
          `  round ${round} ${row.title.padEnd(62)} ${fmt(row.load.rps).padStart(8)} req/s  p99 ${fmt(row.load.p99Ms, 2)} ms` +
            `${row.half ? `  (half rate p99 ${fmt(row.half.p99Ms, 2)} ms)` : ""}\n`,
        );
      }
    }
  } finally {
    if (mongo && typeof mongo !== "string") mongo.stop();
  }

  // One row per case: the median round by throughput.
  const byCase = new Map<string, Row[]>();
  for (const row of rows) byCase.set(row.id, [...(byCase.get(row.id) ?? []), row]);
  const chosen = new Map<string, Row>();
  for (const [id, caseRows] of byCase) {
    const m = median(caseRows.map((r) => r.load.rps));
    chosen.set(id, caseRows.find((r) => r.load.rps === m)!);
  }
  const rps = (id: string) => chosen.get(id)?.load.rps ?? NaN;
  const bestFramework = Math.max(rps("b"), rps("c"));

  const header = ["case", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "CPU s / 10k", "peak RSS MB", "store ops / check", "vs (a)", "vs best(b,c)", "decisions"];
  const table: string[][] = [];
  for (const testCase of CASES) {
    const row = chosen.get(testCase.id);
    if (!row) continue;
    const baselineA = testCase.generator === "grpc-js" ? rps("a-grpc") : rps("a");
    const isKeygate = testCase.server === "keygate";
    table.push([
      row.title + (byCase.get(row.id)!.length > 1 ? ` (median of ${byCase.get(row.id)!.length})` : ""),
      fmt(row.load.rps),
      fmt(row.load.p50Ms, 2),
      fmt(row.load.p99Ms, 2),
      fmt(row.load.p999Ms, 2),
      fmt(row.cpuSecondsPer10k, 3),
      fmt(row.peakRssMb),
      row.storeOpsPerCheck === null
        ? "-"
        : fmt(row.storeOpsPerCheck, row.storeOpsPerCheck === 0 ? 0 : 5) +
          Object.entries(row.otherStoreOps).map(([name, n]) => ` (+${n} ${name} in ${fmt(row.load.durationS, 1)} s)`).join(""),
      isKeygate || testCase.id === "b" || testCase.id === "c" ? `${fmt((100 * row.load.rps) / baselineA)}%` : "",
      isKeygate && testCase.generator === "h2load" ? `${fmt((100 * row.load.rps) / bestFramework)}%` : "",
      row.verified,
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  process.stdout.write(`\n${line(header)}\n|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? ":" : "-") + "-".repeat(w) + (i === 0 || i === widths.length - 1 ? "-" : ":")).join("|")}|\n`);
  for (const r of table) process.stdout.write(`${line(r)}\n`);
  for (const s of skipped) process.stdout.write(`\nskipped: ${s.title}: ${s.reason}\n`);

  // Targets.
  const hit = chosen.get("hit");
  const targets: Array<[string, boolean | undefined, string]> = [];
  if (hit) {
    targets.push(["allowed-on-hit >= 85% of the best no-op framework (b, c)", hit.load.rps >= 0.85 * bestFramework, `${fmt((100 * hit.load.rps) / bestFramework)}%`]);
    targets.push(["allowed-on-hit >= 60% of bare node:http2 (a)", hit.load.rps >= 0.6 * rps("a"), `${fmt((100 * hit.load.rps) / rps("a"))}%`]);
    const transport = chosen.get("a")?.half;
    if (hit.half) {
      targets.push([
        "p99 at half the maximum throughput < 2 ms",
        hit.half.p99Ms < 2,
        `${fmt(hit.half.p99Ms, 2)} ms at ${fmt(hit.half.rps)} req/s` +
          (transport ? ` (bare node:http2 (a) at half its maximum, ${fmt(transport.rps)} req/s: ${fmt(transport.p99Ms, 2)} ms)` : ""),
      ]);
    }
    targets.push(["zero store operations per Check on a hit", hit.storeOpsPerCheck === 0, `${hit.storeOpsPerCheck} per check`]);
  }
  const stored = chosen.get("hit100k");
  if (stored) {
    targets.push([
      "100,000 keys in the embedded store < 300 MB RSS (one key in use)",
      stored.settledRssMb < 300,
      `${fmt(stored.settledRssMb)} MB held (RSS after a full collection); peak ${fmt(stored.peakRssMb)} MB, seeding included`,
    ]);
  }
  const spread = chosen.get("spread100k");
  if (spread) {
    targets.push([
      "  the same with all 100,000 keys in use (cached, rate-limited, counted)",
      spread.settledRssMb < 300,
      `${fmt(spread.settledRssMb)} MB held; peak ${fmt(spread.peakRssMb)} MB`,
    ]);
  }

  for (const id of ["hit", "hit100k", "spread100k"]) {
    const row = chosen.get(id);
    if (row) {
      process.stdout.write(
        `\nmemory, ${row.title}: peak RSS ${fmt(row.peakRssMb)} MB, RSS after the load ${fmt(row.rssMb)} MB; ` +
          `after a full collection RSS ${fmt(row.settledRssMb)} MB, V8 heap ${fmt(row.heapMb)} MB, buffers ${fmt(row.externalMb)} MB`,
      );
    }
  }
  process.stdout.write("\n");
  const cluster = chosen.get("cluster");
  process.stdout.write("\ntargets:\n");
  for (const [name, met, figure] of targets) process.stdout.write(`  ${met ? "met    " : "NOT MET"}  ${name}: ${figure}\n`);
  if (chosen.has("b") && chosen.has("c")) {
    const lead = rps("c") / rps("b") - 1;
    process.stdout.write(
      `\n(c) grpc-js vs (b) connect-node: ${lead >= 0 ? "+" : ""}${fmt(100 * lead)}% (the issue's threshold for leaving Connect is +20%);` +
        (hit ? ` keygate's Check on its lean gRPC path: ${fmt((100 * hit.load.rps) / rps("c"))}% of (c)'s no-op\n` : "\n"),
    );
  }
  const inProcess = only === undefined ? await measureInProcess() : undefined;
  if (inProcess) {
    process.stdout.write(
      `\nCheck path in process (no network, no usage or metrics), CPU per allowed Check on a hit:\n` +
        `  Connect route's work (fromBinary, check, toBinary): ${fmt(inProcess.connectPathUs, 1)} µs\n` +
        `  lean route's work (CheckRequestDecoder.decode, checkFields): ${fmt(inProcess.leanPathUs, 1)} µs ` +
        `(${fmt(inProcess.connectPathUs / inProcess.leanPathUs, 1)}x less)\n`,
    );
  }
  if (cluster && hit) process.stdout.write(`\ncluster mode, 2 workers: ${fmt(cluster.load.rps)} req/s = ${fmt(cluster.load.rps / hit.load.rps, 2)}x one process\n`);

  process.stdout.write(`\nload average at end (1, 5, 15 min): ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${cpus().length} cores\n`);
  if (profileDir) {
    for (const file of readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile"))) {
      process.stdout.write(`\n${summarizeProfile(join(profileDir, file))}\n`);
    }
  }
  if (options.json) writeFileSync(options.json, JSON.stringify({ machine, clients, streams, durationS, rounds, rows, skipped, inProcess }, null, 2));
  rmSync(workDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
