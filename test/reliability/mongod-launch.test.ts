import { afterEach, describe, expect, it, vi } from "vitest";
import { launchRetryingEarlyExits } from "../support/mongod-launch.js";

/** The suite's mongod starts: one that closes as it starts is started again, anything else is reported at once. */

const closedAtStart = () => new Error('Instance closed unexpectedly with code "1" and signal "null"');

afterEach(() => {
  vi.useRealTimers();
});

describe("starting a test mongod", () => {
  it("starts again after an early close, up to three starts", async () => {
    vi.useFakeTimers();
    let starts = 0;
    const started = launchRetryingEarlyExits(async () => {
      starts += 1;
      if (starts < 3) throw closedAtStart();
      return "mongod";
    });
    await vi.runAllTimersAsync();
    await expect(started).resolves.toBe("mongod");
    expect(starts).toBe(3);
  });

  it("reports a third early close, and any other failure at once", async () => {
    vi.useFakeTimers();
    let starts = 0;
    const always = launchRetryingEarlyExits(async () => {
      starts += 1;
      throw closedAtStart();
    });
    const rejected = expect(always).rejects.toThrow(/closed unexpectedly/);
    await vi.runAllTimersAsync();
    await rejected;
    expect(starts).toBe(3);

    let otherStarts = 0;
    await expect(
      launchRetryingEarlyExits(async () => {
        otherStarts += 1;
        throw new Error("launch timeout");
      }),
    ).rejects.toThrow("launch timeout");
    expect(otherStarts).toBe(1);
  });
});
