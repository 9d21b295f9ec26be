import { defineConfig } from "vitest/config";
import { MONGOD_HOOK_TIMEOUT_MS } from "./test/support/mongod-timeout.js";

/**
 * Two groups, one after the other. Everything but test/reliability runs first, a file per core:
 * those tests decide with clocks they control, so sharing the machine changes nothing they
 * assert. test/reliability runs next, one file at a time: its tests load real mongods and keygate
 * replicas themselves and hold them to bounds in wall-clock time (an election's revoke within 2 s,
 * a soak's heap), which another file's load beside them would only blur.
 */
const RELIABILITY = "test/reliability/**/*.test.ts";

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
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [RELIABILITY], maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: "reliability", include: [RELIABILITY], maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
