import { describe, expect, it } from "vitest";
import { LeasedBudgets, type BudgetSpec, type Taken } from "../../src/limits/leased-budgets.js";
import { createLogger } from "../../src/log/logger.js";
import { MemoryBudgetLeases } from "../../src/store/memory/budget-leases.js";
import type { BudgetLease, BudgetLeaseRepository, BudgetLeaseRequest } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";

/**
 * A Check at the very end of a window. A replica's estimate of the store's clock errs early (by up
 * to the last ask's trip to the store), so for a moment it counts a window as over that the store
 * still holds open: a Check then asks, the store answers for the old window, and by the replica's
 * clock that window is over. Such a Check must not be denied for want of a window (seen on a real
 * MongoDB: one Check in ~70 of a steady 90% load was RATE_LIMITED at a second's edge); it waits for
 * one more ask, of the next window, and no more.
 */
const SPEC: BudgetSpec = { bucket: "key/k/second", unit: "second", limit: 1 };
const WINDOW_START = 10_000;
const WINDOW_END = 11_000;

/** Asks wait here until the test answers them, at a store time of its choosing. */
class AnsweredByHand implements BudgetLeaseRepository {
  constructor(private readonly replicaClock: ManualClock) {}
  readonly #storeClock = new ManualClock(0);
  readonly #memory = new MemoryBudgetLeases(this.#storeClock);
  readonly #pending: { requests: BudgetLeaseRequest[]; resolve: (leases: BudgetLease[]) => void }[] = [];

  lease(requests: BudgetLeaseRequest[]): Promise<BudgetLease[]> {
    return new Promise((resolve) => this.#pending.push({ requests, resolve }));
  }

  async seed(): Promise<void> {}

  /** Answers the next ask (sent on the next turn of the event loop) as the store would at `storeNowMs`, received at `repliedAtMs`. */
  async answer(storeNowMs: number, repliedAtMs: number): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    const call = this.#pending.shift();
    if (call === undefined) throw new Error("no ask was sent");
    this.#storeClock.set(storeNowMs);
    const leases = await this.#memory.lease(call.requests);
    this.replicaClock.set(repliedAtMs);
    call.resolve(leases);
  }
}

function replica() {
  const clock = new ManualClock(WINDOW_START);
  const leases = new AnsweredByHand(clock);
  const budgets = new LeasedBudgets({ leases, clock, holder: "r1", waitMs: 60_000, outageAllowance: "none", logger: createLogger("silent") });
  /**
   * One Check at `atMs`: asks with mayWait, and once the wait is over decides again, as Check
   * does; `answers` are the store's to the asks sent meanwhile, as many as are sent.
   */
  const check = async (atMs: number, answers: { storeNowMs: number; repliedAtMs: number }[]): Promise<Taken> => {
    clock.set(atMs);
    const taken = budgets.take([SPEC], atMs, true);
    if (!("waitFor" in taken)) return taken;
    let settled = false;
    void taken.waitFor.then(() => (settled = true));
    for (const { storeNowMs, repliedAtMs } of answers) {
      await leases.answer(storeNowMs, repliedAtMs);
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) break;
    }
    await taken.waitFor;
    return budgets.take([SPEC], clock.now(), false);
  };
  return { budgets, check };
}

describe("a Check at a window's edge", () => {
  it("whose ask the store answers for the window just ending waits for the next window instead of being denied", async () => {
    const { budgets, check } = replica();
    // The first ask reaches the store 8 ms after it was sent: the replica's estimate runs 8 ms early.
    expect(await check(WINDOW_START, [{ storeNowMs: WINDOW_START + 8, repliedAtMs: WINDOW_START + 10 }])).toMatchObject({ admitted: true });
    // 5 ms before the end, by the store's clock, the replica counts the window as over; this ask
    // reaches the store at once, still in the old window (used up), and is answered after the end.
    const edge = await check(WINDOW_END - 5, [
      { storeNowMs: WINDOW_END - 4, repliedAtMs: WINDOW_END + 2 },
      { storeNowMs: WINDOW_END + 3, repliedAtMs: WINDOW_END + 4 },
    ]);
    expect(edge).toMatchObject({ admitted: true });
    await budgets.close();
  });

  it("waits for one more ask at most, even if the store still answers for the old window", async () => {
    const { budgets, check } = replica();
    expect(await check(WINDOW_START, [{ storeNowMs: WINDOW_START + 8, repliedAtMs: WINDOW_START + 10 }])).toMatchObject({ admitted: true });
    const edge = await check(WINDOW_END - 5, [
      { storeNowMs: WINDOW_END - 4, repliedAtMs: WINDOW_END + 2 },
      // A store whose clock stands still: the Check decides now, denied, rather than wait on.
      { storeNowMs: WINDOW_END - 4, repliedAtMs: WINDOW_END + 4 },
    ]);
    expect(edge).toMatchObject({ admitted: false });
    await budgets.close();
  });
});
