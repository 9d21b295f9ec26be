import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MongoMemoryReplSet, MongoMemoryServer } from "mongodb-memory-server-core";
import { packageRoot } from "../../src/console/package-root.js";
import { MONGOD_START_TIMEOUT_MS } from "./mongod-timeout.js";

/**
 * Every start of a mongod in test/ and bench/ (the run's shared one in global-setup.ts, the
 * standalones and replica sets some files start for themselves, the benchmark's): one way to
 * start, bounded by one setting, MONGOD_START_TIMEOUT_MS (mongod-timeout.ts), that covers the
 * whole start, the retries of a mongod that closes as it starts and a replica set's first
 * election included. A start past it fails with a message that says so, and the server it may
 * still bring up is stopped rather than left running.
 */

/** Starts of one mongod tried in all, when each closes as it starts. */
const LAUNCH_ATTEMPTS = 3;

/**
 * Starts one mongod (`start`: a single-member set or a standalone server), again when it closed as
 * it started. Under Wine a start now and then races the previous wineserver's shutdown and the
 * process exits at once with code 1 (seen once in CI, failing the whole run in global setup); a
 * second start succeeds. Any other failure, and a third such close, is the test's to report.
 */
export async function launchRetryingEarlyExits<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const closedAtStart = error instanceof Error && error.message.includes("Instance closed unexpectedly");
      if (!closedAtStart || attempt >= LAUNCH_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
    }
  }
}

/**
 * `start`, retried on early exits, given up after `boundMs` in all; a server that comes up after
 * the bound is stopped. (Each process's own launch timeout is the same setting, so that a later
 * restart of it, which reuses its options, waits as long.)
 */
export async function launchBounded<T>(
  what: string,
  start: () => Promise<T>,
  stop: (late: T) => Promise<unknown>,
  boundMs: number = MONGOD_START_TIMEOUT_MS,
): Promise<T> {
  const starting = launchRetryingEarlyExits(start);
  let timer: NodeJS.Timeout | undefined;
  const tooLate = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not start within ${boundMs} ms (MONGOD_START_TIMEOUT_MS, test/support/mongod-timeout.ts)`)), boundMs);
  });
  try {
    return await Promise.race([starting, tooLate]);
  } catch (error) {
    starting.then(stop, () => undefined).catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A replica set that waits for its first primary as long as the start may take (the library
 * waits 30 s, then stops every member: too short for three mongods under Wine on a busy machine).
 */
class PatientReplicaSet extends MongoMemoryReplSet {
  protected override _waitForPrimary(timeout: number = MONGOD_START_TIMEOUT_MS, where?: string): Promise<void> {
    return super._waitForPrimary(Math.max(timeout, MONGOD_START_TIMEOUT_MS), where);
  }
}

export interface MongodOptions {
  /** Extra mongod arguments, e.g. ["--setParameter", "enableTestCommands=1"] for fail points. */
  args?: string[];
}

/**
 * A standalone mongod on 127.0.0.1. Its restarts (`restartMongod`) keep the launch timeout it was
 * started with, so a slow restart on a busy machine waits too.
 */
export function startMongod(options: MongodOptions = {}): Promise<MongoMemoryServer> {
  return launchBounded(
    "a standalone mongod",
    () => MongoMemoryServer.create({ instance: { ip: "127.0.0.1", launchTimeout: MONGOD_START_TIMEOUT_MS, ...(options.args && { args: options.args }) } }),
    (late) => late.stop(),
  );
}

export interface ReplicaSetOptions extends MongodOptions {
  /** Members; default 1. */
  members?: number;
  /** Replica set settings (replSetInitiate's `settings`), e.g. { electionTimeoutMillis }. */
  settings?: { electionTimeoutMillis?: number; heartbeatIntervalMillis?: number };
}

/** A replica set on 127.0.0.1, its first primary elected. */
export function startReplicaSet(options: ReplicaSetOptions = {}): Promise<MongoMemoryReplSet> {
  const members = options.members ?? 1;
  return launchBounded(
    `a ${members}-member replica set`,
    () =>
      PatientReplicaSet.create({
        replSet: {
          count: members,
          ip: "127.0.0.1",
          ...(options.args && { args: options.args }),
          ...(options.settings && { configSettings: options.settings }),
        },
        // Per member, so that a member's restart (start(true)) waits as long too.
        instanceOpts: Array.from({ length: members }, () => ({ launchTimeout: MONGOD_START_TIMEOUT_MS })),
      }),
    (late) => late.stop(),
  );
}

/** Starts again, on its port and data, a mongod stopped with `stop({ doCleanup: false })`. */
export function restartMongod(server: MongoMemoryServer): Promise<void> {
  return launchBounded(
    `mongod on port ${server.instanceInfo?.port ?? "?"}, restarted,`,
    () => server.start(true),
    () => Promise.resolve(),
  );
}

/**
 * On machines that cannot download MongoDB, ../shared/mongod/install provides a mongod and says
 * so in the variables it exports (MONGOMS_SYSTEM_BINARY, MONGOMS_VERSION); they are applied to
 * this process, so `npm test` and the benchmark need no set-up. Does nothing when the variable is
 * set already, or where there is no such script (mongodb-memory-server then downloads one).
 */
export async function useOfflineMongodIfNeeded(): Promise<void> {
  const install = join(packageRoot(), "..", "shared", "mongod", "install");
  if (process.env.MONGOMS_SYSTEM_BINARY || !existsSync(install)) return;
  let variables: Record<string, string>;
  try {
    variables = await exportsOfInstall(install);
  } catch (error) {
    throw new Error(`No mongod: ${install} failed. ${HOW_TO_FIX}`, { cause: error });
  }
  if (!variables.MONGOMS_SYSTEM_BINARY) throw new Error(`No mongod: ${install} exported no MONGOMS_SYSTEM_BINARY. ${HOW_TO_FIX}`);
  Object.assign(process.env, variables);
}

export const HOW_TO_FIX =
  "Set MONGOMS_SYSTEM_BINARY to a mongod 7 binary (e.g. `eval \"$(../shared/mongod/install)\"` from the repo root, " +
  "as .ci/run does), or run where mongodb-memory-server-core can download one.";

/**
 * Runs the install script and returns the variables it exports, evaluated by bash itself so that
 * any quoting in them is resolved. Its progress (stderr) goes straight to the terminal.
 */
function exportsOfInstall(install: string): Promise<Record<string, string>> {
  const script = [
    "set -euo pipefail",
    'out=$("$0")',
    'eval "$out"',
    'for name in $(sed -n "s/^export \\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p" <<<"$out"); do',
    '  printf "%s=%s\\0" "$name" "${!name}"',
    "done",
  ].join("\n");
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script, install], { cwd: packageRoot(), stdio: ["ignore", "pipe", "inherit"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${install} exited with ${code}`));
      const variables: Record<string, string> = {};
      for (const pair of Buffer.concat(chunks).toString("utf8").split("\0")) {
        const equals = pair.indexOf("=");
        if (equals > 0) variables[pair.slice(0, equals)] = pair.slice(equals + 1);
      }
      resolve(variables);
    });
  });
}
