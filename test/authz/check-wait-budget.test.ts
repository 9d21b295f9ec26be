import { describe, expect, it } from "vitest";
import { CheckService } from "../../src/authz/check-service.js";
import { LeasedBudgets } from "../../src/limits/leased-budgets.js";
import type { CheckLimits } from "../../src/limits/check-limits.js";
import { createLogger } from "../../src/log/logger.js";
import { MemoryReplicaRegistry } from "../../src/store/memory/replica-registry.js";
import type { BudgetLeaseRepository, Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { createHarness, envoyRequest, outcomeOf } from "./check-harness.js";
import { storeWith } from "../support/store-with.js";

/**
 * One Check waits for the store at most its budget in all: a cold key's read and the limits' wait
 * share it (CheckService's waitBudgetMs), so a slow read leaves the wait only what is left, and an
 * ask unanswered by then counts as out of reach rather than as a denial.
 */

const READ_MS = 60;

/** The store's key reads answer no sooner than READ_MS. */
function slowKeyReads(inner: Store): Store {
  const keys = new Proxy(inner.keys, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== "findByHash" || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setTimeout(resolve, READ_MS));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return storeWith(inner, { keys });
}

/** The limits as the harness made them, recording the wait each admission was allowed. */
function recordingWaits(limits: CheckLimits): { limits: CheckLimits; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    limits: {
      admit: (key, plan, nowMs, waitMs) => {
        waits.push(waitMs ?? Infinity);
        return limits.admit(key, plan, nowMs, waitMs);
      },
      peekLimits: (key, identity, nowMs) => limits.peekLimits(key, identity, nowMs),
      peekOrganization: (id, plan, nowMs) => limits.peekOrganization(id, plan, nowMs),
      debitCredits: (key, identity, units, nowMs) => limits.debitCredits(key, identity, units, nowMs),
      creditsLeft: (line) => limits.creditsLeft(line),
      close: () => limits.close(),
    },
  };
}

describe("a Check's wait budget", () => {
  it("the limits may wait only what the cold key's read left of the budget", async () => {
    const h = await createHarness({ wrapStore: slowKeyReads });
    const { secret } = await h.createKey();
    const { limits, waits } = recordingWaits(h.limits);
    const service = new CheckService({ ...h.deps, limits, waitBudgetMs: 1_000 });
    expect(outcomeOf(await service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    // The first admission waits for the organization's month (local limits), the second decides.
    expect(waits).toHaveLength(2);
    for (const waitMs of waits) {
      expect(waitMs).toBeLessThanOrEqual(1_000 - READ_MS);
      expect(waitMs).toBeGreaterThan(0);
    }
  });

  it("a read that spent the whole budget still leaves the limits a moment, never a denial for want of one", async () => {
    const h = await createHarness({ wrapStore: slowKeyReads });
    const { secret } = await h.createKey();
    const { limits, waits } = recordingWaits(h.limits);
    const service = new CheckService({ ...h.deps, limits, waitBudgetMs: READ_MS / 2 });
    expect(outcomeOf(await service.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");
    expect(waits).toEqual([1, 1]);
  });

  it("without a budget, the limits' own bound applies", async () => {
    const h = await createHarness();
    const { secret } = await h.createKey();
    const { limits, waits } = recordingWaits(h.limits);
    const service = new CheckService({ ...h.deps, limits });
    await service.check(envoyRequest({ "x-api-key": secret }));
    await service.check(envoyRequest({ "x-api-key": secret }));
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits.every((waitMs) => waitMs === Infinity)).toBe(true);
  });
});

describe("leased budgets: a Check's shorter wait", () => {
  it("an ask unanswered within the Check's wait ends the wait then, and the bucket counts as out of reach", async () => {
    const clock = new ManualClock(0);
    const neverAnswered: BudgetLeaseRepository = { lease: () => new Promise(() => {}), seed: async () => {} } as unknown as BudgetLeaseRepository;
    const budgets = new LeasedBudgets({
      leases: neverAnswered,
      replicas: new MemoryReplicaRegistry(clock),
      clock,
      holder: "r1",
      waitMs: 600_000,
      outageAllowance: "share",
      logger: createLogger("silent"),
    });
    const spec = { bucket: "key/k1", unit: "minute", limit: 10 } as const;
    const taken = budgets.take([spec], clock.now(), 20);
    expect("waitFor" in taken).toBe(true);
    // Ten minutes if the option bounded it; the test's own timeout is far shorter.
    await (taken as { waitFor: Promise<void> }).waitFor;
    expect(budgets.take([spec], clock.now(), 0)).toMatchObject({ admitted: true });
    void budgets.close();
  });
});
