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
