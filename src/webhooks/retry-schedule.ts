/**
 * When a failed delivery is tried again, as the contract says: about 5 s, 1 min, 5 min, 30 min,
 * 2 h, 6 h, 12 h and 24 h after the attempts before, then it fails for good (nine attempts over
 * about two days). Each wait is spread by up to a tenth either way, so the deliveries a receiver's
 * outage made fail together do not all come back in the same second when it recovers.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const RETRY_DELAYS_MS: readonly number[] = [5 * SECOND, MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR];
/** The first attempt and one after each wait. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
const JITTER = 0.1;

/**
 * How long to wait after the `attemptsMade`-th attempt failed; null when that was the last.
 * `random` is in [0, 1), Math.random by default.
 */
export function retryDelayMs(attemptsMade: number, random: () => number = Math.random): number | null {
  const delay = RETRY_DELAYS_MS[attemptsMade - 1];
  if (delay === undefined) return null;
  return Math.round(delay * (1 + JITTER * (2 * random() - 1)));
}
