import { MemoryBudgetLeases } from "../../src/store/memory/budget-leases.js";
import { MemoryReplicaRegistry } from "../../src/store/memory/replica-registry.js";
import type { Store } from "../../src/store/store.js";
import type { Clock } from "../../src/time/clock.js";
import { storeWith } from "./store-with.js";

/**
 * The store, but leasing limits in windows of `clock` rather than of the database's own clock.
 * For tests that simulate days and months with a ManualClock on a real MongoDB, whose subject is
 * not leasing (usage, billing): MongoDB's windows follow its real clock, which a test cannot move.
 * Leasing itself is tested on MongoDB's clock (test/reliability/fleet-*.test.ts).
 */
export function leasingOnClock(store: Store, clock: Clock): Store {
  const budgets = new MemoryBudgetLeases(clock);
  const replicas = new MemoryReplicaRegistry(clock);
  return storeWith(store, { budgets, replicas });
}
