import { fork, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Case } from "./cases.js";
import type { ServerMessage, ServerStats, StatsMessage } from "./server-stats.js";

/**
 * A case's server in a process of its own, started fresh for each measurement: ready when it
 * reports its port, asked for its stats and told to stop over IPC.
 */

/** This checkout's built bench (dist/bench-build/bench), whose servers/ a case runs unless it names another build. */
const benchDir = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface Running {
  port: number;
  info: Record<string, unknown>;
  stats(settle?: boolean): Promise<ServerStats>;
  stop(): Promise<void>;
}

export async function startServer(testCase: Case, seed: string, mongoUri: string | undefined, profileDir: string | undefined): Promise<Running> {
  const script = join(testCase.buildDir ?? benchDir, "servers", `${testCase.server}.js`);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production" };
  delete env["MONGODB_URI"];
  if (testCase.mongo) env["MONGODB_URI"] = mongoUri;
  env["BENCH_KEYGATE"] = JSON.stringify({ keys: testCase.keys ?? 10, seed, workers: testCase.workers ?? 1 });
  // The warm pass over a million keys takes minutes, longer than the default 30 s cache TTL, and
  // the default cache holds 200,000 entries: a cache sized and timed to hold every key keeps the
  // spread cases what they say (every key cached), as a deployment with that many keys would set it.
  const keys = testCase.keys ?? 0;
  if (keys >= 100_000) {
    env["KEYGATE_CACHE_TTL_MS"] = String(3_600_000);
    env["KEYGATE_CACHE_MAX_ENTRIES"] = String(Math.max(200_000, 2 * keys));
    env["KEYGATE_CACHE_MAX_BYTES"] = String(64 * 2 ** 30);
  }
  // --expose-gc only lets the bench ask for a collection before reading settled memory.
  const execArgv = ["--expose-gc", ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])];
  // V8's default old space here is 4 GB; a keygate that needs more for a million keys (4 KB a key in
  // use before issue 16) finishes the case with its figures rather than dying with none. The target is 1.5 GB.
  if (keys >= 1_000_000) execArgv.push("--max-old-space-size=12288");
  const child: ChildProcess = fork(script, [], { env, execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting = new Map<number, { resolve: (stats: ServerStats) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const ready = await new Promise<{ port: number; info: Record<string, unknown> }>((resolveReady, reject) => {
    // Seeding a million keys takes a minute or two on a busy machine.
    const startMs = 120_000 + 0.5 * (testCase.keys ?? 0);
    const timer = setTimeout(() => reject(new Error(`${testCase.server} did not start in ${startMs / 1000} s`)), startMs);
    child.once("exit", (code) => reject(new Error(`${testCase.server} exited with ${code} before listening`)));
    child.on("message", (message: ServerMessage) => {
      if (message.type === "ready") {
        clearTimeout(timer);
        resolveReady({ port: message.port, info: message.info ?? {} });
      } else if (message.type === "stats") {
        waiting.get(message.id)?.resolve(message);
        waiting.delete(message.id);
      }
    });
  });
  child.removeAllListeners("exit");
  // A server that dies under load (out of memory with a million keys) fails its case, not the bench's wait.
  let exited: Error | undefined;
  child.once("exit", (code, signal) => {
    exited = new Error(`${testCase.server} (${testCase.keys ?? 0} keys) exited with ${signal ?? code}`);
    for (const { reject } of waiting.values()) reject(exited);
    waiting.clear();
  });
  return {
    ...ready,
    stats: (settle = false) =>
      new Promise((resolveStats, rejectStats) => {
        if (exited) return rejectStats(exited);
        const id = nextId++;
        waiting.set(id, { resolve: resolveStats, reject: rejectStats });
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
