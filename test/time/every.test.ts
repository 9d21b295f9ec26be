import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { every } from "../../src/time/every.js";

describe("every", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function recorder() {
    const lines: string[] = [];
    const logger = { warn: (_: object, message: string) => void lines.push(`warn ${message}`), info: (message: string) => void lines.push(`info ${message}`) };
    return { lines, log: { logger: logger as never, failing: "down", recovered: "up" } };
  }

  it("runs the task every interval, one run at a time, and not after stop", async () => {
    let runs = 0;
    let release: () => void = () => {};
    const { log } = recorder();
    const stop = every(100, () => (runs++, new Promise<void>((resolve) => (release = resolve))), log);
    await vi.advanceTimersByTimeAsync(350);
    expect(runs).toBe(1); // still running: the next three were skipped
    release();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
    release();
    stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toBe(2);
  });

  it("logs when the task starts failing and when it succeeds again, not on every run", async () => {
    const outcomes = [true, false, false, "throw", true, true, false];
    const { lines, log } = recorder();
    const stop = every(100, async () => {
      const outcome = outcomes.shift();
      if (outcome === "throw") throw new Error("store down");
      return outcome as boolean;
    }, log);
    await vi.advanceTimersByTimeAsync(700);
    stop();
    expect(lines).toEqual(["warn down", "info up", "warn down"]);
  });
});
