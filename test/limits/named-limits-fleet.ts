import type { Admission, AdmittedKey, CheckLimits, PlanLimits, Spend } from "../../src/limits/check-limits.js";
import type { LeasedBudgetsOptions } from "../../src/limits/leased-budgets.js";
import { LeasedLimits } from "../../src/limits/leased-limits.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { createLogger } from "../../src/log/logger.js";
import type { BudgetLeaseRepository, ReplicaRegistry } from "../../src/store/store.js";
import { ManualClock, type Clock } from "../../src/time/clock.js";
import { MemoryBudgetLeases } from "../../src/store/memory/budget-leases.js";
import { MemoryReplicaRegistry } from "../../src/store/memory/replica-registry.js";

/**
 * CheckLimits as Check uses them, for tests of named limits, cost and identities: one LocalLimits,
 * or replicas of LeasedLimits on one lease store (the embedded one on a ManualClock, or MongoDB).
 */

export const PLAN: PlanLimits = { name: "test", requestsPerMinute: 1_000_000, monthlyQuota: 1_000_000_000 };

/** Replicas of LeasedLimits on one lease store, each with its own holder name. */
export async function leasedReplicas(count: number, stores: { leases: BudgetLeaseRepository; replicas: ReplicaRegistry; clock: Clock }[]): Promise<LeasedLimits[]> {
  const replicas = Array.from({ length: count }, (_, i) => {
    const store = stores[i % stores.length]!;
    const options: LeasedBudgetsOptions = {
      leases: store.leases,
      replicas: store.replicas,
      clock: store.clock,
      holder: `replica-${i}`,
      waitMs: 5_000,
      outageAllowance: "none",
      logger: createLogger("silent"),
    };
    return new LeasedLimits({ ...options, loadMonthlyRequests: async () => 0 });
  });
  // Each announced itself as it started, the first alone: one more round tells everyone how many they are.
  for (const replica of replicas) await replica.refreshReplicas();
  for (const replica of replicas) await replica.refreshReplicas();
  return replicas;
}

export function localLimits(clock: Clock): LocalLimits {
  return new LocalLimits({ clock, loadMonthlyRequests: async () => 0 });
}

/** One Check's admission: wait when told to, then decide again (waiting no more the last time), as Check does. */
export async function admit(limits: CheckLimits, key: AdmittedKey, nowMs: () => number, spend?: Spend): Promise<Exclude<Admission, { waitFor: Promise<void> }>> {
  let admission = limits.admit(key, PLAN, nowMs(), Infinity, spend);
  for (let waits = 1; "waitFor" in admission; waits++) {
    if (waits > 3) throw new Error("asked to wait after the last wait");
    await admission.waitFor;
    admission = limits.admit(key, PLAN, nowMs(), waits < 3 ? Infinity : 0, spend);
  }
  return admission;
}

/** What a denial names: whose limit and which, or "admitted". */
export const verdict = (admission: Exclude<Admission, { waitFor: Promise<void> }>): string =>
  admission.admitted
    ? "admitted"
    : admission.reason === "CREDITS_EXHAUSTED"
      ? `${admission.reason} ${admission.credit.owner}`
      : `${admission.reason} ${admission.line.owner}:${admission.line.name}`;

/** Both CheckLimits on one ManualClock, so windows roll (and balances refill) only when a test says. */
export interface FleetSetup {
  clock: ManualClock;
  /** The limits Check consults, request by request (the replicas in turn when leased). */
  limits: (i: number) => CheckLimits;
  close(): Promise<void>;
}

/** LocalLimits, as the embedded store counts. */
export async function localSetup(startMs: number): Promise<FleetSetup> {
  const clock = new ManualClock(startMs);
  const limits = localLimits(clock);
  return { clock, limits: () => limits, close: () => limits.close() };
}

/** Two LeasedLimits replicas on one embedded lease store. */
export async function leasedSetup(startMs: number): Promise<FleetSetup> {
  const clock = new ManualClock(startMs);
  const store = { leases: new MemoryBudgetLeases(clock), replicas: new MemoryReplicaRegistry(clock), clock };
  const replicas = await leasedReplicas(2, [store]);
  return { clock, limits: (i) => replicas[i % 2]!, close: async () => void (await Promise.all(replicas.map((r) => r.close()))) };
}
