import { defineConfig } from "vitest/config";
import { MONGOD_HOOK_TIMEOUT_MS } from "./test/support/mongod-timeout.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    // A beforeAll may start a mongod of its own (test/support/mongod-launch.ts), bounded by
    // MONGOD_START_TIMEOUT_MS: the hook gets that, and a minute for the rest of its work.
    hookTimeout: MONGOD_HOOK_TIMEOUT_MS,
    pool: "forks",
  },
});
