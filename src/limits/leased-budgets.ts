import { LRUCache } from "lru-cache";
import type { Logger } from "../log/logger.js";
import { noLimitsObserver, type LimitsObserver } from "../metrics/observers.js";
import type { BudgetLease, BudgetLeaseRepository, BudgetLeaseRequest, ReplicaRegistry } from "../store/store.js";
import { windowAt, type WindowUnit } from "../time/budget-windows.js";
import type { Clock } from "../time/clock.js";
import { asksAhead, lowWater, unitsToAsk } from "./lease-sizing.js";
import { Budget, deferred, RECHECK_FIRST_MS, RECHECK_MAX_MS, type BudgetSpec, type Deferred } from "./leased-budget.js";
import type { RateLimitState } from "./rate-limiter.js";

/**
 * Limits held exactly across replicas by leasing: each replica takes slices of a bucket's window
 * budget from the store (one atomic conditional update, granted only while the fleet's total stays
 * within the limit), admits from them locally and synchronously, and asks for the next slice before
 * the last runs out. The fleet never admits more than the limit in a window; what it may admit
 * less is what replicas hold unused when the window ends (at most about one slice each), and idle
 * slices are given back before that.
 *
 * Windows follow the store's clock: each answer carries the store's time, and this replica keeps
 * the offset to its own, measured so that it errs early (a slice is never used past its window).
 *
 * When the store cannot be reached (an ask fails, or is still unanswered after `waitMs`), the
 * replica admits from what it holds, then from the outage allowance; those requests are reported
 * with its next ask, which counts them once, whatever the limit says.
 */

export type { BudgetSpec } from "./leased-budget.js";

/** What a bucket says about one more request. */
type Standing = "admit" | "deny" | "ask";

export type OutageAllowance = "none" | "share";

export type Taken =
  | { admitted: true; states: RateLimitState[] }
  | { admitted: false; /** The spec that denied, by index. */ index: number; state: RateLimitState }
  | { waitFor: Promise<void> };

export interface LeasedBudgetsOptions {
  leases: BudgetLeaseRepository;
  /** Where this replica announces itself and learns how many lease beside it. */
  replicas: ReplicaRegistry;
  clock: Clock;
  /** This replica in the store's windows: letters, digits, `-`, `_`. */
  holder: string;
  /** How long a Check waits for an ask before deciding without it (the outage allowance). */
  waitMs: number;
  /** Beyond held slices while the store is out of reach: nothing, or a share of the window. */
  outageAllowance: OutageAllowance;
  /**
   * How long the store must have been silent before the allowance applies in a window seen before
   * (KEYGATE_STORE_WRITE_WAIT_MS, the time an election is waited out): an election is ridden out
   * on held slices, never over the limit.
   */
  allowanceAfterMs: number;
  logger: Logger;
  observer?: LimitsObserver;
  /** What a bucket spent in a window before leasing began there (see BudgetLease.unseeded); undefined: nothing. */
  seed?: (bucket: string, windowStartMs: number) => Promise<number> | undefined;
  /** Buckets held; the least recently used is dropped (its slice is stranded until its window ends). */
  maxBuckets?: number;
}

/** How often this replica announces itself; it counts as live for three announcements. */
const ANNOUNCE_EVERY_MS = 2_000;
/** A clock offset measured over a quick round trip is kept this long against slower measures. */
const OFFSET_MAX_AGE_MS = 30_000;
/** Idle this long with units held: they go back to the fleet. */
const GIVE_BACK_IDLE_MS = 2_000;
export class LeasedBudgets {
  readonly #options: LeasedBudgetsOptions;
  readonly #observer: LimitsObserver;
  readonly #budgets: LRUCache<string, Budget>;
  /** Budgets holding unused units: the ones the give-back sweep looks at. */
  readonly #holding = new Set<Budget>();
  readonly #queue = new Set<Budget>();
  #sendScheduled = false;
  /** Store clock minus this replica's clock, over-estimated by at most the round trip it was measured with. */
  #offsetMs = 0;
  #offsetRoundTripMs = Number.POSITIVE_INFINITY;
  #offsetAtMs = Number.NEGATIVE_INFINITY;
  /**
   * Live replicas as last announced (this one included), kept through an outage; null until the
   * first announcement is answered: a replica that never learned the fleet's size takes no share.
   */
  #liveReplicas: number | null = null;
  #storeReachable = true;
  /** Since when asks have gone unanswered (null: they are answered). */
  #unansweredSinceMs: number | null = null;
  #admittedWithoutLease = 0;
  readonly #sweep: NodeJS.Timeout;
  readonly #announcing: NodeJS.Timeout;

  constructor(options: LeasedBudgetsOptions) {
    this.#options = options;
    this.#observer = options.observer ?? noLimitsObserver;
    // A budget dropped for room leaves the sweep's set with it: the set never outgrows the cache.
    this.#budgets = new LRUCache<string, Budget>({ max: options.maxBuckets ?? 100_000, dispose: (budget) => this.#holding.delete(budget) });
    this.#sweep = setInterval(() => this.#giveBackIdle(), GIVE_BACK_IDLE_MS / 2);
    this.#sweep.unref();
    void this.refreshReplicas();
    this.#announcing = setInterval(() => void this.refreshReplicas(), ANNOUNCE_EVERY_MS);
    this.#announcing.unref();
  }

  /** Announces this replica now and learns the count; resolves either way (a failure keeps the count last learned). */
  refreshReplicas(): Promise<void> {
    return this.#options.replicas.announce(this.#options.holder, 3 * ANNOUNCE_EVERY_MS).then(
      (live) => {
        this.#liveReplicas = Math.max(1, live);
      },
      // The lease path reports the store's outages.
      () => {},
    );
  }

  /**
   * One more request against every spec, in order: counted on all of them when each has a unit
   * for it, denied by the first that has none and whose window the fleet has used up, or a promise
   * to wait on (one ask for every bucket that needs one, sent together) after which to call again
   * with `mayWait` false, when an earlier bucket needs an ask first.
   */
  take(specs: readonly BudgetSpec[], nowMs: number, mayWait: boolean): Taken {
    const budgets: Budget[] = [];
    let asking: Budget[] | null = null;
    let admitting: Budget[] | null = null;
    for (let i = 0; i < specs.length; i++) {
      const budget = this.#budget(specs[i]!, nowMs, mayWait);
      budgets.push(budget);
      const standing = this.#standing(budget, nowMs, mayWait);
      if (standing === "deny" && asking === null) return { admitted: false, index: i, state: this.#state(budget, nowMs) };
      if (standing === "ask") (asking ??= []).push(budget);
      if (standing === "admit" && !budget.unreachable) (admitting ??= []).push(budget);
    }
    if (asking !== null) {
      // This Check decides again once the ask lands, and what its other buckets hold must still
      // be there for it then, or it waits a second round trip: a bucket that would not cover
      // every Check waiting on it and a round trip of its rate joins the same ask; the others
      // are claimed (their units are demand until the waiting Checks wake).
      const claims: Budget[] = [];
      for (const budget of admitting ?? []) {
        if (budget.available < budget.waiting + budget.claimed + 1 + lowWater(budget.rate.at(nowMs))) asking.push(budget);
        else claims.push(budget);
      }
      return { waitFor: this.#waitFor(asking, claims) };
    }
    const states: RateLimitState[] = [];
    let withoutLease = false;
    for (const budget of budgets) {
      if (budget.used >= budget.held) withoutLease = true;
      budget.used++;
      budget.lastUseMs = nowMs;
      states.push(this.#state(budget, nowMs));
      if (budget.available > 0) this.#holding.add(budget);
      else this.#holding.delete(budget);
      // Ask ahead while what is held still lasts an ask's round trip at the current rate.
      if (!budget.inAir && !budget.unreachable && budget.available <= lowWater(budget.rate.at(nowMs)) && this.#asksAhead(budget)) this.#enqueue(budget);
    }
    if (withoutLease) {
      this.#admittedWithoutLease++;
      this.#observer.admittedWithoutLease();
    }
    return { admitted: true, states };
  }

  /** What the next request would see, without counting or asking anything. */
  peek(spec: BudgetSpec, nowMs: number): RateLimitState {
    const budget = this.#budgets.peek(spec.bucket);
    if (budget === undefined || budget.unit !== spec.unit || !this.#alive(budget, nowMs)) {
      return { limit: spec.limit, remaining: spec.limit, resetAtMs: nowMs, retryAtMs: nowMs };
    }
    return this.#state(budget, nowMs);
  }

  /** Gives back every unused unit and leaves the registry (best effort both); call once traffic has stopped. */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    clearInterval(this.#announcing);
    const holding = [...this.#holding].filter((budget) => budget.available > 0 && !budget.inAir);
    for (const budget of holding) budget.giveBack = budget.available;
    await Promise.all([
      holding.length === 0 ? undefined : this.#ask(holding),
      this.#options.replicas.withdraw(this.#options.holder).catch(() => {}),
    ]);
  }

  /** The spec's budget; `first`: this Check's first look at it, which counts in its rate. */
  #budget(spec: BudgetSpec, nowMs: number, first: boolean): Budget {
    let budget = this.#budgets.get(spec.bucket);
    if (budget === undefined || budget.unit !== spec.unit) {
      budget = new Budget(spec);
      this.#budgets.set(spec.bucket, budget);
    }
    // A changed limit holds from the next ask; the units already granted stay granted.
    budget.limit = spec.limit;
    if (first) budget.rate.add(nowMs);
    return budget;
  }

  #storeNow(nowMs: number): number {
    return nowMs + this.#offsetMs;
  }

  #alive(budget: Budget, nowMs: number): boolean {
    return budget.windowStartMs !== null && this.#storeNow(nowMs) < budget.windowEndMs;
  }

  /** The fleet has granted the whole limit of the window this replica holds. */
  #usedUp(budget: Budget): boolean {
    return budget.known && budget.granted >= budget.limit;
  }

  #standing(budget: Budget, nowMs: number, mayWait: boolean): Standing {
    if (budget.unreachable) return this.#standingUnreachable(budget, nowMs);
    if (this.#alive(budget, nowMs)) {
      if (budget.available > 0) return "admit";
      if (this.#usedUp(budget)) {
        if (nowMs - budget.lastAskMs >= budget.recheckMs && !budget.inAir) this.#enqueue(budget);
        return "deny";
      }
    }
    // No window, a window over, or units left in the fleet but none here: an ask decides.
    return mayWait ? "ask" : "deny";
  }

  /**
   * While the store is out of reach: what is held, then the allowance, which is the window's
   * unleased remainder as last seen (the whole limit in a window not yet seen) divided among the
   * replicas, or nothing. No Check waits for the store meanwhile: an ask is tried again in the
   * background, at most once a second per bucket.
   */
  #standingUnreachable(budget: Budget, nowMs: number): Standing {
    if (!this.#alive(budget, nowMs)) {
      // The window ended with no answer about the next: this replica opens it for itself.
      const window = windowAt(budget.unit, this.#storeNow(nowMs));
      if (budget.windowStartMs !== null) budget.previous = { startMs: budget.windowStartMs, used: budget.used };
      Object.assign(budget, { windowStartMs: window.startMs, windowEndMs: window.endMs, held: 0, used: 0, granted: 0, known: false });
    }
    if (!budget.inAir && nowMs - budget.lastAskMs >= budget.recheckMs) this.#enqueue(budget);
    if (budget.available > 0) return "admit";
    if (this.#options.outageAllowance === "none" || this.#liveReplicas === null) return "deny";
    // In a window seen before the store stopped answering, the others may have leased more since
    // this replica last looked: its share of the remainder as it saw it could take the fleet over
    // the limit. So there the allowance waits until the store has been silent longer than any
    // election lasts; until then what is held must do. A window opened during the silence has
    // had nothing leased from it: each replica's share of the limit adds up to the limit.
    if (budget.known && this.#unansweredSinceMs !== null && nowMs - this.#unansweredSinceMs < this.#options.allowanceAfterMs) return "deny";
    const unleased = budget.known ? Math.max(0, budget.limit - budget.granted) : budget.limit;
    const allowance = Math.floor(unleased / Math.max(budget.holders, this.#liveReplicas));
    return budget.used < budget.held + allowance ? "admit" : "deny";
  }

  #state(budget: Budget, nowMs: number): RateLimitState {
    const resetAtMs = Math.max(nowMs, budget.windowEndMs - this.#offsetMs);
    const unleased = budget.known ? Math.max(0, budget.limit - budget.granted) : 0;
    const remaining = Math.max(0, Math.min(budget.limit, unleased + budget.available));
    return { limit: budget.limit, remaining, resetAtMs, retryAtMs: remaining > 0 ? nowMs : resetAtMs };
  }

  /** Registers one Check's demand on each budget and gives what settles once all of them were asked. */
  #waitFor(budgets: Budget[], claims: Budget[]): Promise<void> {
    for (const budget of claims) budget.claimed++;
    const waits: Promise<void>[] = [];
    for (const budget of budgets) {
      budget.waiting++;
      budget.next ??= deferred();
      waits.push(budget.next.promise);
      this.#enqueue(budget);
    }
    const started = performance.now();
    // However many asks the answers take (one carried over, a seed first), the Check waits no
    // longer than waitMs: past it, the store counts as out of reach for these buckets.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const budget of budgets) if (budget.inAir || budget.next !== null || budget.seeding) budget.unreachable = true;
        resolve();
      }, this.#options.waitMs);
    });
    const answered = waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
    return Promise.race([answered, deadline]).then(() => {
      clearTimeout(timer);
      for (const budget of claims) budget.claimed--;
      this.#observer.waited((performance.now() - started) / 1_000);
    });
  }

  #enqueue(budget: Budget): void {
    this.#queue.add(budget);
    if (this.#sendScheduled) return;
    this.#sendScheduled = true;
    // After the Checks of this turn of the event loop have had their say: one ask carries them all.
    setImmediate(() => {
      this.#sendScheduled = false;
      const ready = [...this.#queue].filter((budget) => !budget.inAir && !budget.seeding);
      for (const budget of ready) this.#queue.delete(budget);
      if (ready.length > 0) void this.#ask(ready);
    });
  }

  /** One ask for these budgets, sent together; never rejects (a failure marks them unreachable). */
  async #ask(budgets: Budget[]): Promise<void> {
    const sentAtMs = this.#options.clock.now();
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
        if (budget.next !== null && !budget.next.carried && !budget.unreachable && this.#alive(budget, nowMs) && budget.available >= answered + budget.waiting + budget.claimed) {
          waking.push({ waiters: budget.next, count: budget.waiting });
          budget.next = null;
          budget.waiting = 0;
        }
        // A Check that wants more will say so again; one that waits, or units to give back, ask now.
        if (budget.next !== null || budget.giveBack > 0) this.#enqueue(budget);
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
    if (this.#alive(budget, nowMs) && (this.#usedUp(budget) || budget.available >= woken.count)) return;
    const next = (budget.next ??= deferred());
    next.carried = true;
    budget.waiting += woken.count;
    void next.promise.then(waiters.resolve);
    woken.waiters = null;
  }

  /** Replicas that may want the bucket's budget: those that leased in the window, or all live ones. */
  #holders(budget: Budget, alive: boolean): number {
    return Math.max(alive && budget.known ? budget.holders : 1, this.#liveReplicas ?? 1);
  }

  /** Asking ahead is worth it while the fleet has plenty unleased (lease-sizing.ts). */
  #asksAhead(budget: Budget): boolean {
    return !budget.known || asksAhead(budget.limit - budget.granted, this.#holders(budget, true));
  }

  #wanted(budget: Budget, nowMs: number): number {
    const alive = this.#alive(budget, nowMs);
    return unitsToAsk({
      unleased: alive && budget.known ? Math.max(0, budget.limit - budget.granted) : budget.limit,
      holders: this.#holders(budget, alive),
      ratePerSecond: budget.rate.at(nowMs),
      windowLeftMs: alive ? budget.windowEndMs - this.#storeNow(nowMs) : windowLength(budget.unit, this.#storeNow(nowMs)),
      waiting: budget.waiting + budget.claimed,
      available: alive ? budget.available : 0,
    });
  }

  #apply(budget: Budget, lease: BudgetLease, sentAtMs: number, answeredAtMs: number): void {
    // The store read its clock after sentAtMs on this one: the offset errs towards the store's
    // time being later, so this replica stops using a slice at the latest when its window ends.
    // It errs by up to the round trip, so a slow answer (one that waited out an outage) replaces
    // a quicker one's measure only once that is old.
    const roundTripMs = answeredAtMs - sentAtMs;
    if (roundTripMs <= this.#offsetRoundTripMs || answeredAtMs - this.#offsetAtMs > OFFSET_MAX_AGE_MS) {
      this.#offsetMs = lease.storeNowMs - sentAtMs;
      this.#offsetRoundTripMs = roundTripMs;
      this.#offsetAtMs = answeredAtMs;
    }
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
        if (budget.next !== null) this.#enqueue(budget);
      });
  }

  #reachable(reachable: boolean): void {
    if (reachable === this.#storeReachable) return;
    this.#storeReachable = reachable;
    this.#unansweredSinceMs = reachable ? null : this.#options.clock.now();
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

  /** Units held by buckets nobody used for a while go back, where the window is contested, so other replicas can have them. */
  #giveBackIdle(): void {
    const nowMs = this.#options.clock.now();
    for (const budget of this.#holding) {
      if (!this.#alive(budget, nowMs) || budget.available === 0) {
        this.#holding.delete(budget);
        continue;
      }
      if (budget.inAir || budget.unreachable || nowMs - budget.lastUseMs < GIVE_BACK_IDLE_MS) continue;
      // Only where another replica may want them: while less than half the window is leased,
      // units held here take nothing from anyone, and giving them back would make the key's next
      // Check wait for a new slice.
      if (!budget.known || budget.granted * 2 < budget.limit) continue;
      budget.giveBack = budget.available;
      this.#holding.delete(budget);
      this.#enqueue(budget);
    }
  }
}

function windowLength(unit: WindowUnit, storeNowMs: number): number {
  const window = windowAt(unit, storeNowMs);
  return window.endMs - storeNowMs;
}
