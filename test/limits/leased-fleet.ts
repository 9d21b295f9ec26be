import { LeasedBudgets, type BudgetSpec, type OutageAllowance } from "../../src/limits/leased-budgets.js";
import { createLogger } from "../../src/log/logger.js";
import { MemoryBudgetLeases } from "../../src/store/memory/budget-leases.js";
import { MemoryReplicaRegistry } from "../../src/store/memory/replica-registry.js";
import type { BudgetLease, BudgetLeaseRepository, BudgetLeaseRequest } from "../../src/store/store.js";
import { ManualClock, type Clock } from "../../src/time/clock.js";

/**
 * Replicas leasing from one embedded lease store, without a server: each replica's clock is the
 * store's plus a skew, so moving the store's ManualClock moves them all. The store can be made to
 * fail or to hold its answers, and counts the asks it gets.
 */

export class ControlledLeases implements BudgetLeaseRepository {
  readonly asks: BudgetLeaseRequest[][] = [];
  failing = false;
  #held: (() => void)[] | null = null;

  constructor(readonly inner: MemoryBudgetLeases) {}

  async lease(requests: BudgetLeaseRequest[]): Promise<BudgetLease[]> {
    this.asks.push(requests);
    if (this.#held !== null) await new Promise<void>((release) => this.#held!.push(release));
    if (this.failing) throw new Error("store unreachable");
    return this.inner.lease(requests);
  }

  seed(bucket: string, windowStartMs: number, units: number): Promise<void> {
    return this.inner.seed(bucket, windowStartMs, units);
  }

  /** Answers nothing until release(). */
  hold(): void {
    this.#held ??= [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const release of held) release();
  }

  /** The store's figures of a bucket, as one more (empty) ask of an outside holder sees them. */
  async window(spec: BudgetSpec): Promise<BudgetLease> {
    const [lease] = await this.inner.lease([{ ...spec, holder: "observer", windowStartMs: null, held: 0, floor: 0, want: 0 }]);
    return lease!;
  }
}

export interface Replica {
  clock: Clock;
  budgets: LeasedBudgets;
}

export interface FleetOptions {
  replicas: number;
  outageAllowance?: OutageAllowance;
  waitMs?: number;
  /** Each replica's clock minus the store's. */
  skewsMs?: number[];
  seed?: (bucket: string, windowStartMs: number) => Promise<number> | undefined;
  start?: number;
  /** Buckets each replica keeps (its budget cache). */
  maxBuckets?: number;
  /**
   * Leave each replica with the count it learned when it started, as replicas started one after
   * another have it until their next announcement (the first knows of itself alone).
   */
  startedInTurn?: boolean;
}

export interface Fleet {
  storeClock: ManualClock;
  leases: ControlledLeases;
  replicas: Replica[];
  close(): Promise<void>;
}

/** The fleet, once every replica has announced itself and knows how many they are. */
export async function leasedFleet(options: FleetOptions): Promise<Fleet> {
  const storeClock = new ManualClock(options.start ?? Date.UTC(2026, 0, 15, 12, 0, 10));
  const leases = new ControlledLeases(new MemoryBudgetLeases(storeClock));
  const registry = new MemoryReplicaRegistry(storeClock);
  const logger = createLogger("silent");
  const replicas = Array.from({ length: options.replicas }, (_, i): Replica => {
    const skew = options.skewsMs?.[i] ?? 0;
    const clock: Clock = { now: () => storeClock.now() + skew };
    const budgets = new LeasedBudgets({
      leases,
      replicas: registry,
      clock,
      holder: `replica-${i}`,
      waitMs: options.waitMs ?? 1_000,
      outageAllowance: options.outageAllowance ?? "share",
      logger,
      ...(options.seed !== undefined && { seed: options.seed }),
      ...(options.maxBuckets !== undefined && { maxBuckets: options.maxBuckets }),
    });
    return { clock, budgets };
  });
  // The first replicas announced before the last did: they learn the full count at their next
  // announcement, which a test does not wait for; one more round tells everyone now.
  if (options.startedInTurn !== true) {
    await Promise.all(replicas.map((_, i) => registry.announce(`replica-${i}`, 15_000)));
    for (const replica of replicas) await replica.budgets.refreshReplicas();
  }
  return {
    storeClock,
    leases,
    replicas,
    async close() {
      leases.release();
      await Promise.all(replicas.map((replica) => replica.budgets.close()));
    },
  };
}

/** One request as Check makes it: take, and when told to wait, wait and take again (at most twice, as Check). */
export async function request(replica: Replica, specs: readonly BudgetSpec[]): Promise<boolean> {
  let taken = replica.budgets.take(specs, replica.clock.now(), Infinity);
  for (let waits = 1; "waitFor" in taken; waits++) {
    if (waits > 2) throw new Error("asked to wait after the last wait");
    await taken.waitFor;
    taken = replica.budgets.take(specs, replica.clock.now(), waits < 2 ? Infinity : 0);
  }
  return taken.admitted;
}

/** Fires every request at once (round robin, or in the order given), and counts the admitted. */
export async function burst(fleet: Fleet, specs: readonly BudgetSpec[], order: number[]): Promise<number> {
  const outcomes = await Promise.all(order.map((replica) => request(fleet.replicas[replica]!, specs)));
  return outcomes.filter(Boolean).length;
}
