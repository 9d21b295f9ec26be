import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { MONGOD_HOOK_TIMEOUT_MS } from "./test/support/mongod-timeout.js";

/**
 * Three groups of test files:
 *  - "unit": every file outside test/reliability, a file per core, in workers that keep the
 *    modules they loaded from one file to the next (isolate: false). Loading keygate's module
 *    graph anew for each of 200 files was a third of the run; these files build every object
 *    they use (stores, apps, clocks) themselves, so sharing modules shares no state.
 *  - "reliability", after them, one file at a time: its tests load real mongods and keygate
 *    replicas themselves and hold them to bounds in wall-clock time (an election's revoke within
 *    2 s, a soak's heap), which another file's load beside them would only blur.
 *  - "mocked": the files that replace a module (vi.mock), each in a fresh worker, since a module
 *    another file already loaded cannot be replaced (Vitest runs such one-worker groups last).
 */
const RELIABILITY = "test/reliability/**/*.test.ts";
const TEST_DIRECTORY = fileURLToPath(new URL("./test/", import.meta.url));

/** Test files that call vi.mock, found by reading them, so that a new one needs no list kept by hand. */
const MOCKED = (readdirSync(TEST_DIRECTORY, { recursive: true, encoding: "utf8" }) as string[])
  .map((file) => file.split("\\").join("/"))
  .filter((file) => file.endsWith(".test.ts") && !file.startsWith("reliability/"))
  .filter((file) => /\bvi\.(mock|doMock)\(/.test(readFileSync(join(TEST_DIRECTORY, file), "utf8")))
  .map((file) => `test/${file}`);

/** What every group shares. Only the root runs globalSetup: the run has one mongod, which it provides to every group. */
const common = {
  testTimeout: 30_000,
  // A beforeAll may start a mongod of its own (test/support/mongod-launch.ts), bounded by
  // MONGOD_START_TIMEOUT_MS: the hook gets that, and a minute for the rest of its work.
  hookTimeout: MONGOD_HOOK_TIMEOUT_MS,
  pool: "forks" as const,
};

export default defineConfig({
  test: {
    ...common,
    globalSetup: ["test/support/global-setup.ts"],
    projects: [
      { test: { ...common, name: "unit", include: ["test/**/*.test.ts"], exclude: [RELIABILITY, ...MOCKED], maxWorkers: 2, isolate: false, sequence: { groupOrder: 0 } } },
      { test: { ...common, name: "mocked", include: MOCKED.length > 0 ? MOCKED : ["(none)"], maxWorkers: 1, sequence: { groupOrder: 0 } } },
      { test: { ...common, name: "reliability", include: [RELIABILITY], maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
