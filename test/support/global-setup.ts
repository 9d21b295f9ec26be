import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MongoMemoryReplSet } from "mongodb-memory-server-core";
import type { TestProject } from "vitest/node";
import { launchRetryingEarlyExits, MONGOD_LAUNCH_TIMEOUT_MS } from "./mongod-launch.js";

/**
 * One real mongod for the whole test run (each test file then uses its own database, see
 * mongo.ts), as a single-member replica set: the shape keygate runs on in production, with
 * transactions and change streams (test/store/mongo-standalone-store.test.ts covers a standalone). mongodb-memory-server-core starts it: the binary named by MONGOMS_SYSTEM_BINARY, or
 * one it downloads. On machines that cannot download MongoDB, ../shared/mongod/install provides
 * one and says so in the variables it exports; they are applied here so that plain `npm test` works.
 */

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const offlineInstall = fileURLToPath(new URL("../../../shared/mongod/install", import.meta.url));

/** mongod under Wine starts in about 3 s; a cold machine may take far longer. */

const HOW_TO_FIX =
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
    const child = spawn("bash", ["-c", script, install], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
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

async function useOfflineMongodIfNeeded(): Promise<void> {
  if (process.env.MONGOMS_SYSTEM_BINARY || !existsSync(offlineInstall)) return;
  let variables: Record<string, string>;
  try {
    variables = await exportsOfInstall(offlineInstall);
  } catch (error) {
    throw new Error(`No mongod for the MongoDB store tests: ${offlineInstall} failed. ${HOW_TO_FIX}`, { cause: error });
  }
  if (!variables.MONGOMS_SYSTEM_BINARY) {
    throw new Error(`No mongod for the MongoDB store tests: ${offlineInstall} exported no MONGOMS_SYSTEM_BINARY. ${HOW_TO_FIX}`);
  }
  Object.assign(process.env, variables);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await useOfflineMongodIfNeeded();
  let server: MongoMemoryReplSet;
  try {
    server = await launchRetryingEarlyExits(() =>
      MongoMemoryReplSet.create({
        replSet: { count: 1, ip: "127.0.0.1" },
        instanceOpts: [{ launchTimeout: MONGOD_LAUNCH_TIMEOUT_MS }],
      }),
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const binary = process.env.MONGOMS_SYSTEM_BINARY ?? "(none; a download was attempted)";
    throw new Error(
      `No mongod for the MongoDB store tests: starting one failed (MONGOMS_SYSTEM_BINARY=${binary}): ${reason}. ${HOW_TO_FIX}`,
      { cause: error },
    );
  }
  project.provide("mongoUri", server.getUri());
  return async () => {
    await server.stop();
  };
}
