import { vi } from "vitest";

/**
 * What a WatchUsage stream must not leave behind once it ended: its heartbeat timer (and, read by
 * the callers from UsageAggregator.listenerCount, its flush listener). Shared by the WatchUsage
 * tests and the admin fuzz. Undo the spies with vi.restoreAllMocks().
 */

/**
 * Intervals WatchUsage set since the call and has not cleared. Exact, unlike counting the
 * process's active handles, which the gRPC and HTTP clients' own timers make noisy.
 */
export function watchIntervalsFromNow(): () => number {
  const setInterval = globalThis.setInterval;
  const set = new Set<unknown>();
  vi.spyOn(globalThis, "setInterval").mockImplementation(((...args: Parameters<typeof setInterval>) => {
    const handle = setInterval(...args);
    if (new Error().stack?.includes("src/admin/usage/watch-usage.ts")) set.add(handle);
    return handle;
  }) as typeof setInterval);
  const clear = vi.spyOn(globalThis, "clearInterval");
  return () => {
    const cleared = new Set(clear.mock.calls.map(([handle]) => handle));
    return [...set].filter((handle) => !cleared.has(handle as NodeJS.Timeout)).length;
  };
}

/**
 * Polls until `read()` equals `expected` (or 2 s pass) and returns the last reading. Each reading
 * is taken after the pause's own timer has fired, so it does not count itself.
 */
export async function settled<T>(read: () => T | Promise<T>, expected: T): Promise<T> {
  let value = await read();
  for (let i = 0; i < 100 && JSON.stringify(value) !== JSON.stringify(expected); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}
