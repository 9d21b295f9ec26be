import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The MongoDB case's server: a mongod started with the shared tools, or why there is none (the case
 * is then skipped, with that reason).
 */

const here = dirname(fileURLToPath(import.meta.url));

export function startMongo(): { uri: string; stop(): void } | string {
  // The shared tools sit beside the repository: <repo>/../shared (here is <repo>/dist/bench-build/bench/lib).
  const script = resolve(here, "..", "..", "..", "..", "..", "shared", "mongod", "start");
  if (!existsSync(script)) return `no ${script} on this machine`;
  try {
    const port = String(27_200 + (process.pid % 500));
    const output = execFileSync("bash", [script, port], { cwd: resolve(here, "..", "..", "..", ".."), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
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
