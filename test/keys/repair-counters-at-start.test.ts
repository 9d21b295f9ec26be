import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { repairCountersAtStart } from "../../src/keys/repair-counters-at-start.js";
import { createLogger } from "../../src/log/logger.js";
import type { CounterRepair } from "../../src/store/counter-repair.js";

/** The repair at start logs what it corrected (warn), that all was right (info), or that it failed (error), and never fails the start. */
describe("counter repair at start", () => {
  function logged(): { logger: ReturnType<typeof createLogger>; lines: () => { level: string; msg: string; [field: string]: unknown }[] } {
    const chunks: string[] = [];
    const logger = createLogger(
      "info",
      new Writable({
        write(chunk, _encoding, done) {
          chunks.push(String(chunk));
          done();
        },
      }),
    );
    return { logger, lines: () => chunks.map((chunk) => JSON.parse(chunk) as { level: string; msg: string }) };
  }

  const repaired = (repair: CounterRepair) => ({ repairCounters: async () => repair });

  it("warns with each counter it corrected and by how much", async () => {
    const { logger, lines } = logged();
    await repairCountersAtStart(
      repaired({
        checked: 40,
        corrections: [
          { counter: "key_slots", organizationId: "org_A", was: 30, now: 5 },
          { counter: "key_slots", organizationId: "org_A", userId: "user_B", was: 12, now: 3 },
          { counter: "owners", organizationId: "org_C", was: 0, now: 1 },
        ],
      }),
      logger,
    );
    expect(lines()).toEqual([
      expect.objectContaining({
        level: "warn",
        msg: "key counters were wrong and are repaired",
        checked: 40,
        corrected: 3,
        corrections: [
          "key slots of organization org_A: 30 → 5 (-25)",
          "key slots of user user_B in organization org_A: 12 → 3 (-9)",
          "owners of organization org_C: 0 → 1 (+1)",
        ],
      }),
    ]);
  });

  it("names at most 50 corrections in the line, and counts them all", async () => {
    const { logger, lines } = logged();
    const corrections = Array.from({ length: 70 }, (_, i) => ({ counter: "key_slots" as const, organizationId: `org_${i}`, was: 2, now: 1 }));
    await repairCountersAtStart(repaired({ checked: 70, corrections }), logger);
    const [line] = lines();
    expect(line).toMatchObject({ level: "warn", corrected: 70 });
    expect(line!["corrections"]).toHaveLength(50);
  });

  it("says at info that every counter was right", async () => {
    const { logger, lines } = logged();
    await repairCountersAtStart(repaired({ checked: 12, corrections: [] }), logger);
    expect(lines()).toEqual([expect.objectContaining({ level: "info", msg: "key counters checked: all right", checked: 12 })]);
  });

  it("logs a failed repair as an error and resolves, so keygate starts on the counters as they are", async () => {
    const { logger, lines } = logged();
    const failing = { repairCounters: () => Promise.reject(new Error("MongoDB unreachable")) };
    await expect(repairCountersAtStart(failing, logger)).resolves.toBeUndefined();
    expect(lines()).toEqual([
      expect.objectContaining({
        level: "error",
        msg: "key counter repair failed; starting on the counters as they are",
        err: expect.objectContaining({ message: "MongoDB unreachable" }),
      }),
    ]);
  });
});
