/**
 * The one setting for how long a test mongod may take to start or restart: every start in test/
 * and bench/ goes through mongod-launch.ts, which gives up after it. The library's default (10 s
 * per process, 30 s for a replica set's first primary) is not enough on a loaded CI machine (a
 * mongod under Wine, other test files beside it); a slow start is not what any test is about.
 * Kept apart from mongod-launch.ts so vitest.config.ts can read it without loading the library.
 */
export const MONGOD_START_TIMEOUT_MS = 180_000;

/** For a hook or test that starts or restarts a mongod: the start's bound, and a minute for its own work. */
export const MONGOD_HOOK_TIMEOUT_MS = MONGOD_START_TIMEOUT_MS + 60_000;
