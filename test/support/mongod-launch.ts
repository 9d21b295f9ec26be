/**
 * How long a test mongod may take to start (or restart) before the test gives up. The library's
 * default of 10 s is not enough on a loaded CI machine (a mongod under Wine, other test files
 * running beside it); a slow start is not what any test is about.
 */
export const MONGOD_LAUNCH_TIMEOUT_MS = 180_000;

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
