import type { Logger } from "../log/logger.js";
import type { LimitsObserver } from "../metrics/observers.js";
import type { BudgetLease, BudgetLeaseRepository, BudgetLeaseRequest } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import type { FleetSize } from "./fleet-size.js";
import { asksAhead, unitsToAsk } from "./lease-sizing.js";
import { deferred, RECHECK_FIRST_MS, RECHECK_MAX_MS, type Budget, type Deferred } from "./leased-budget.js";
import type { StoreClock } from "./store-clock.js";

/**
 * The asks of one replica's leased budgets (src/limits/leased-budgets.ts) to the store: queued per
 * turn of the event loop and sent together, their answers applied to each budget, the Checks
 * waiting on them woken (or carried to one more ask), a month's seed, and whether the store is
 * answering at all.
 */

export interface BudgetAsksOptions {
  leases: BudgetLeaseRepository;
  clock: Clock;
  holder: string;
  waitMs: number;
  outageAllowance: "none" | "share";
  logger: Logger;
  observer: LimitsObserver;
  storeClock: StoreClock;
  fleet: FleetSize;
  /** Budgets holding unused units, kept up to date as answers come. */
  holding: Set<Budget>;
  seed?: (bucket: string, windowStartMs: number) => Promise<number> | undefined;
}

export class BudgetAsks {
  readonly #options: BudgetAsksOptions;
  readonly #observer: LimitsObserver;
  readonly #storeClock: StoreClock;
  readonly #fleet: FleetSize;
  readonly #holding: Set<Budget>;
  readonly #queue = new Set<Budget>();
  #sendScheduled = false;
  #storeReachable = true;
  #admittedWithoutLease = 0;

  constructor(options: BudgetAsksOptions) {
    this.#options = options;
    this.#observer = options.observer;
    this.#storeClock = options.storeClock;
    this.#fleet = options.fleet;
    this.#holding = options.holding;
  }

  /** A request admitted beyond the slices held: counted for the log line when the store answers again. */
  admittedWithoutLease(): void {
    this.#admittedWithoutLease++;
    this.#observer.admittedWithoutLease();
  }

  /** Queues an ask for the budget: sent with every other queued one after this turn of the event loop. */
  enqueue(budget: Budget): void {
    this.#queue.add(budget);
    if (this.#sendScheduled) return;
    this.#sendScheduled = true;
    // After the Checks of this turn of the event loop have had their say: one ask carries them all.
    setImmediate(() => {
      this.#sendScheduled = false;
      const ready = [...this.#queue].filter((budget) => !budget.inAir && !budget.seeding);
      for (const budget of ready) this.#queue.delete(budget);
      if (ready.length > 0) void this.ask(ready);
    });
  }

  /** One ask for these budgets, sent together; never rejects (a failure marks them unreachable). */
  async ask(budgets: Budget[]): Promise<void> {
    const sentAtMs = this.#options.clock.now();
    // `count`: the units the woken Checks need (their costs summed).
    const waking: { waiters: Deferred | null; count: number }[] = [];
    const requests: BudgetLeaseRequest[] = budgets.map((budget) => {
      budget.inAir = true;
      budget.lastAskMs = sentAtMs;
      waking.push({ waiters: budget.next, count: budget.waiting });
      const held = budget.held;
      const floor = Math.max(budget.held, budget.used);
      let want: number;
      if (budget.giveBack > 0 && budget.next === null) {
        // The units go back now: none of them may be admitted here while the store hands them
        // to others. If the answer is lost, the next ask learns what the store holds.
        const back = Math.min(budget.giveBack, budget.available);
        budget.held -= back;
        want = -back;
      } else {
        want = this.#wanted(budget, sentAtMs);
      }
      budget.next = null;
      budget.waiting = 0;
      budget.giveBack = 0;
      return {
        bucket: budget.bucket,
        unit: budget.unit,
        ...(budget.window !== null && { window: budget.window }),
        limit: budget.limit,
        holder: this.#options.holder,
        windowStartMs: budget.windowStartMs,
        held,
        floor,
        want,
        ...(budget.seedFirst && { seedFirst: true }),
      };
    });
    const wake = () => {
      for (const { waiters } of waking) waiters?.resolve();
    };
    // Checks wait for the answer at most waitMs; the ask itself runs on, and its answer is used.
    const late = setTimeout(() => {
      for (const budget of budgets) {
        budget.unreachable = true;
        // Checks that came while this ask was on its way wait no longer than it: they too decide
        // without the store (their ask would go out only once this one ends).
        if (budget.next !== null) {
          waking.push({ waiters: budget.next, count: budget.waiting });
          budget.next = null;
          budget.waiting = 0;
        }
      }
      this.#reachable(false);
      wake();
    }, this.#options.waitMs);
    const started = performance.now();
    try {
      const leases = await this.#options.leases.lease(requests);
      clearTimeout(late);
      this.#observer.asked(budgets.length, "granted", (performance.now() - started) / 1_000);
      const answeredAtMs = this.#options.clock.now();
      for (let i = 0; i < budgets.length; i++) {
        this.#apply(budgets[i]!, leases[i]!, sentAtMs, answeredAtMs);
        this.#carryOver(budgets[i]!, waking[i]!, answeredAtMs);
      }
      this.#reachable(true);
    } catch (error) {
      clearTimeout(late);
      this.#observer.asked(budgets.length, "failed", (performance.now() - started) / 1_000);
      for (const budget of budgets) budget.unreachable = true;
      if (this.#storeReachable) this.#options.logger.warn({ err: error }, "budget lease failed");
      this.#reachable(false);
    } finally {
      const nowMs = this.#options.clock.now();
      for (let i = 0; i < budgets.length; i++) {
        const budget = budgets[i]!;
        budget.inAir = false;
        // Checks that arrived while this ask was on its way: what it brought serves them too when
        // it covers everyone waiting on it, so that none waits out a second round trip; if not,
        // they wait for the next.
        const answered = waking[i]!.waiters === null ? 0 : waking[i]!.count;
        if (budget.next !== null && !budget.next.carried && !budget.unreachable && budget.aliveAt(this.#storeClock.at(nowMs)) && budget.available >= answered + budget.waiting + budget.claimed) {
          waking.push({ waiters: budget.next, count: budget.waiting });
          budget.next = null;
          budget.waiting = 0;
        }
        // A Check that wants more will say so again; one that waits, or units to give back, ask now.
        if (budget.next !== null || budget.giveBack > 0) this.enqueue(budget);
        else this.#queue.delete(budget);
      }
      wake();
    }
  }

  /**
   * The store answered, but not with enough for the Checks that waited: it did not take the ask as
   * sent (this replica's belief was out of date, after an outage or a lost answer), or the window
   * ended as the answer came. Unless the fleet has used up the window, they wait for one more ask,
   * which is sent at once; once only.
   */
  #carryOver(budget: Budget, woken: { waiters: Deferred | null; count: number }, nowMs: number): void {
    const waiters = woken.waiters;
    if (waiters === null || waiters.carried) return;
    // In a window still open, a fleet that has used it up is an answer: deny. One that ended as the
    // answer came says nothing of the next.
    if (budget.aliveAt(this.#storeClock.at(nowMs)) && (budget.usedUp || budget.available >= woken.count)) return;
    const next = (budget.next ??= deferred());
    next.carried = true;
    budget.waiting += woken.count;
    void next.promise.then(waiters.resolve);
    woken.waiters = null;
  }

  /** Replicas that may want the bucket's budget: those that leased in the window, or all live ones. */
  holders(budget: Budget, alive: boolean): number {
    return Math.max(alive && budget.known ? budget.holders : 1, this.#fleet.live ?? 1);
  }

  /** Asking ahead is worth it while the fleet has plenty unleased (lease-sizing.ts). */
  asksAhead(budget: Budget): boolean {
    return !budget.known || asksAhead(budget.limit - budget.granted, this.holders(budget, true));
  }

  #wanted(budget: Budget, nowMs: number): number {
    const alive = budget.aliveAt(this.#storeClock.at(nowMs));
    return unitsToAsk({
      unleased: alive && budget.known ? Math.max(0, budget.limit - budget.granted) : budget.limit,
      holders: this.holders(budget, alive),
      ratePerSecond: budget.rate.at(nowMs),
      windowLeftMs: alive ? budget.windowEndMs - this.#storeClock.at(nowMs) : windowLeft(budget, this.#storeClock.at(nowMs)),
      waiting: budget.waiting + budget.claimed,
      available: alive ? budget.available : 0,
    });
  }

  #apply(budget: Budget, lease: BudgetLease, sentAtMs: number, answeredAtMs: number): void {
    this.#storeClock.measure(lease.storeNowMs, sentAtMs, answeredAtMs);
    this.#fleet.saw(lease.holders, lease.storeNowMs - lease.windowStartMs);
    const heldBefore = lease.windowStartMs === budget.windowStartMs ? budget.held : 0;
    if (budget.windowStartMs === null || lease.windowStartMs > budget.windowStartMs) {
      // A window new to this state. What it holds there is this ask's grant, unless the store did
      // not take the ask: then it was granted before this state existed (the budget was dropped
      // from the cache and made anew), and may all have been used.
      budget.used = lease.applied ? 0 : lease.held;
    } else if (lease.windowStartMs < budget.windowStartMs) {
      // The store is still in a window before the one this replica opened for itself in an
      // outage (its estimate of the store's time ran ahead): the requests admitted since were
      // admitted in the store's window, on top of what was used there (all it holds, when
      // this replica no longer knows).
      const before = budget.previous?.startMs === lease.windowStartMs ? budget.previous.used : lease.held;
      budget.used += before;
    }
    budget.previous = null;
    Object.assign(budget, {
      windowStartMs: lease.windowStartMs,
      windowEndMs: lease.windowEndMs,
      held: lease.held,
      granted: lease.granted,
      holders: lease.holders,
      known: true,
      recount: false,
      unreachable: false,
    });
    if (budget.available > 0) this.#holding.add(budget);
    else this.#holding.delete(budget);
    // Asking again soon is worth it only while asks bring something.
    budget.recheckMs = budget.held > heldBefore ? RECHECK_FIRST_MS : Math.min(RECHECK_MAX_MS, budget.recheckMs * 2);
    if (lease.unseeded && budget.seedFirst) this.#seed(budget, lease.windowStartMs);
  }

  /**
   * Adds what the bucket spent before leasing began to its window (once, whoever is first); its
   * Checks wait for it, then ask. A seed that cannot be loaded or written leaves the bucket out of
   * the store's reach: the outage allowance applies until a later answer tries again.
   */
  #seed(budget: Budget, windowStartMs: number): void {
    const spent = budget.seeding ? undefined : this.#options.seed?.(budget.bucket, windowStartMs);
    if (spent === undefined) return;
    budget.seeding = true;
    spent
      .then((units) => this.#options.leases.seed(budget.bucket, windowStartMs, units))
      .then(
        () => {},
        (error: unknown) => {
          budget.unreachable = true;
          this.#options.logger.warn({ err: error, bucket: budget.bucket }, "budget seed failed; the bucket's next answer tries again");
        },
      )
      .finally(() => {
        budget.seeding = false;
        if (budget.next !== null) this.enqueue(budget);
      });
  }

  #reachable(reachable: boolean): void {
    if (reachable === this.#storeReachable) return;
    this.#storeReachable = reachable;
    this.#observer.storeReachable(reachable);
    if (reachable) {
      this.#options.logger.info(
        { admittedWithoutLease: this.#admittedWithoutLease },
        "budget leases answer again; requests admitted without a lease are counted with each bucket's next lease",
      );
      this.#admittedWithoutLease = 0;
    } else {
      this.#options.logger.warn(
        { outageAllowance: this.#options.outageAllowance },
        `budget leases unanswered: limits admit from held slices${this.#options.outageAllowance === "share" ? ", then a share of each window (KEYGATE_LIMITS_OUTAGE_ALLOWANCE=share)" : " only (KEYGATE_LIMITS_OUTAGE_ALLOWANCE=none)"}`,
      );
    }
  }
}

function windowLeft(budget: Budget, storeNowMs: number): number {
  return budget.windowAt(storeNowMs).endMs - storeNowMs;
}
