import { describe, expect, it } from "vitest";
import { MAX_ATTEMPTS, RETRY_DELAYS_MS, retryDelayMs } from "../../../src/webhooks/retry-schedule.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

describe("retryDelayMs", () => {
  it("follows the contract's schedule: 5 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h, then gives up", () => {
    const middle = () => 0.5;
    expect(Array.from({ length: 8 }, (_, i) => retryDelayMs(i + 1, middle))).toEqual([5 * SECOND, MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR]);
    expect(retryDelayMs(MAX_ATTEMPTS, middle)).toBeNull();
    expect(MAX_ATTEMPTS).toBe(9);
  });

  it("spreads each wait by at most a tenth either way", () => {
    for (const [index, delay] of RETRY_DELAYS_MS.entries()) {
      expect(retryDelayMs(index + 1, () => 0)).toBe(Math.round(delay * 0.9));
      expect(retryDelayMs(index + 1, () => 0.999_999)).toBeLessThanOrEqual(Math.round(delay * 1.1));
      expect(retryDelayMs(index + 1, () => 0.999_999)).toBeGreaterThan(delay);
    }
  });
});
