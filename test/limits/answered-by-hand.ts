import { LeasedBudgets, type BudgetSpec, type Taken } from "../../src/limits/leased-budgets.js";
import { createLogger } from "../../src/log/logger.js";
import { MemoryBudgetLeases } from "../../src/store/memory/budget-leases.js";
import { MemoryReplicaRegistry } from "../../src/store/memory/replica-registry.js";
import type { BudgetLease, BudgetLeaseRepository, BudgetLeaseRequest } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";

/**
 * Budget leases whose asks wait until the test answers them, as the store would at a time of the
 * test's choosing (its clock apart from the replica's), with the replica's clock set to when the
 * answer arrives: how a test puts an ask at the edge of a window, or Checks in its flight.
 */
export class AnsweredByHand implements BudgetLeaseRepository {
  readonly #storeClock = new ManualClock(0);
  readonly #memory = new MemoryBudgetLeases(this.#storeClock);
  readonly #pending: { requests: BudgetLeaseRequest[]; resolve: (leases: BudgetLease[]) => void }[] = [];

  constructor(private readonly replicaClock: ManualClock) {}

  lease(requests: BudgetLeaseRequest[]): Promise<BudgetLease[]> {
    return new Promise((resolve) => this.#pending.push({ requests, resolve }));
  }

  async seed(): Promise<void> {}

  /** Answers the next ask (asks go out on the next turn of the event loop) as the store at `storeNowMs`, received at `repliedAtMs`. */
  async answer(storeNowMs: number, repliedAtMs: number): Promise<void> {
    await turn();
    const call = this.#pending.shift();
    if (call === undefined) throw new Error("no ask was sent");
    this.#storeClock.set(storeNowMs);
    const leases = await this.#memory.lease(call.requests);
    this.replicaClock.set(repliedAtMs);
    call.resolve(leases);
    // What the answer wakes runs before the caller goes on.
    await turn();
  }

  /** Answers every ask sent until none is left, each at once, on the replica's clock. */
  async answerAll(): Promise<void> {
    await turn();
    while (this.#pending.length > 0) await this.answer(this.replicaClock.now(), this.replicaClock.now());
  }
}

export const turn = () => new Promise((resolve) => setImmediate(resolve));

/** One replica's budgets on a manual clock, its asks answered by hand. */
export function replicaAnsweredByHand(startMs: number) {
  const clock = new ManualClock(startMs);
  const leases = new AnsweredByHand(clock);
  const budgets = new LeasedBudgets({
    leases,
    replicas: new MemoryReplicaRegistry(clock),
    clock,
    holder: "r1",
    waitMs: 60_000,
    outageAllowance: "none",
    logger: createLogger("silent"),
  });
  /** Checks of `specs` at the clock's time, all in one turn: the first look of each (mayWait). */
  const look = (specs: readonly BudgetSpec[], count: number): Taken[] => Array.from({ length: count }, () => budgets.take(specs, clock.now(), Infinity));
  /** A Check's second look after its wait, as Check decides it: it may not wait again. */
  const decide = async (specs: readonly BudgetSpec[], taken: Taken): Promise<Taken> => {
    if (!("waitFor" in taken)) return taken;
    await taken.waitFor;
    return budgets.take(specs, clock.now(), 0);
  };
  /** Stops the budgets, answering the give-back of what they hold. */
  const close = async () => {
    const closing = budgets.close();
    await leases.answerAll();
    await closing;
  };
  return { clock, leases, budgets, look, decide, close };
}
