/**
 * How long a test mongod may take to start (or restart) before the test gives up. The library's
 * default of 10 s is not enough on a loaded CI machine (a mongod under Wine, other test files
 * running beside it); a slow start is not what any test is about.
 */
export const MONGOD_LAUNCH_TIMEOUT_MS = 180_000;
