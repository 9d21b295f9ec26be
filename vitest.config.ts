import { readdirSync, readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { MONGOD_HOOK_TIMEOUT_MS } from "./test/support/mongod-timeout.js";

/**
 * Three groups of test files. First, two side by side:
 *  - "unit": every file outside test/reliability, a file per core, in workers that keep the
 *    modules they loaded from one file to the next (isolate: false). Loading keygate's module
 *    graph anew for each of 200 files was a third of the run; these files build every object
 *    they use (stores, apps, clocks) themselves, so sharing modules shares no state.
 *  - "mocked": the files that replace a module (vi.mock), each in a fresh worker, since a module
 *    another file already loaded cannot be replaced.
 * Then "reliability", one file at a time: its tests load real mongods and keygate replicas
 * themselves and hold them to bounds in wall-clock time (an election's revoke within 2 s, a soak's
 * heap), which another file's load beside them would only blur.
 */
const RELIABILITY = "test/reliability/**/*.test.ts";

/** Test files that call vi.mock, found by reading them, so that a new one needs no list kept by hand. */
const MOCKED = (readdirSync("test", { recursive: true, encoding: "utf8" }) as string[])
  .filter((file) => file.endsWith(".test.ts") && !file.startsWith("reliability/"))
  .map((file) => `test/${file.split("\\").join("/")}`)
  .filter((file) => /\bvi\.(mock|doMock)\(/.test(readFileSync(file, "utf8")));

export default defineConfig({
  test: {
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    // A beforeAll may start a mongod of its own (test/support/mongod-launch.ts), bounded by
    // MONGOD_START_TIMEOUT_MS: the hook gets that, and a minute for the rest of its work.
    hookTimeout: MONGOD_HOOK_TIMEOUT_MS,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [RELIABILITY, ...MOCKED], maxWorkers: 2, isolate: false, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: "mocked", include: MOCKED.length > 0 ? MOCKED : ["(none)"], maxWorkers: 1, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: "reliability", include: [RELIABILITY], maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
