import { describe, expect, it } from "vitest";
import { Readiness } from "../../src/server/readiness.js";

/** Readiness pings the store with a deadline it hands the store as a signal, and never waits past it. */
describe("readiness", () => {
  it("is serving while the store's ping resolves", async () => {
    const readiness = new Readiness({ ping: async () => {} });
    expect(await readiness.refresh()).toBe("serving");
  });

  it("hands the store a signal that aborts at the ping timeout, so the store abandons a ping nobody answers", async () => {
    let given: AbortSignal | undefined;
    const readiness = new Readiness(
      {
        ping: (signal) => {
          given = signal;
          // A store that honours the signal, as MongoDB's closes the connection of a ping a frozen server holds.
          return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
        },
      },
      50,
    );
    expect(await readiness.refresh()).toBe("not_serving");
    expect(given?.aborted).toBe(true);
    expect(String(given?.reason)).toContain("store ping timed out");
  });

  it("turns not serving at the timeout also when the store ignores the signal", async () => {
    const readiness = new Readiness({ ping: () => new Promise(() => {}) }, 50);
    expect(await readiness.refresh()).toBe("not_serving");
  });

  it("gives a ping that answers in time a signal that never aborts", async () => {
    let given: AbortSignal | undefined;
    const readiness = new Readiness(
      {
        ping: async (signal) => {
          given = signal;
        },
      },
      50,
    );
    expect(await readiness.refresh()).toBe("serving");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(given?.aborted).toBe(false);
  });
});
