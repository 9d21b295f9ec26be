import { LRUCache } from "lru-cache";
import { growingEntryBound } from "../model/entry-bound.js";
import type { Logger } from "../log/logger.js";
import { noLimitsObserver, type LimitsObserver } from "../metrics/observers.js";
import type { BudgetLeaseRepository, ReplicaRegistry } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { BudgetAsks } from "./budget-asks.js";
import { FleetSize } from "./fleet-size.js";
import { ForcedDebits } from "./forced-debits.js";
import { lowWater } from "./lease-sizing.js";
import { Budget, deferred, type BudgetSpec } from "./leased-budget.js";
import type { RateLimitState } from "./rate-limiter.js";
import { StoreClock } from "./store-clock.js";

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
  logger: Logger;
  observer?: LimitsObserver;
  /** What a bucket spent in a window before leasing began there (see BudgetLease.unseeded); undefined: nothing. */
  seed?: (bucket: string, windowStartMs: number) => Promise<number> | undefined;
  /** Buckets held; the least recently used is dropped (its slice is stranded until its window ends). */
  maxBuckets?: number;
}

/** Idle this long with units held: they go back to the fleet. */
const GIVE_BACK_IDLE_MS = 2_000;

export class LeasedBudgets {
  readonly #options: LeasedBudgetsOptions;
  readonly #observer: LimitsObserver;
  readonly #budgets: LRUCache<string, Budget>;
  /** Budgets holding unused units: the ones the give-back sweep looks at. */
  readonly #holding = new Set<Budget>();
  readonly #storeClock = new StoreClock();
  readonly #fleet: FleetSize;
  readonly #asks: BudgetAsks;
  readonly #debits: ForcedDebits;
  readonly #sweep: NodeJS.Timeout;

  constructor(options: LeasedBudgetsOptions) {
    this.#options = options;
    this.#observer = options.observer ?? noLimitsObserver;
    // A budget dropped for room leaves the sweep's set with it: the set never outgrows the cache.
    this.#budgets = new LRUCache<string, Budget>({ ...growingEntryBound(options.maxBuckets ?? 100_000), dispose: (budget) => this.#holding.delete(budget) });
    this.#sweep = setInterval(() => this.#giveBackIdle(), GIVE_BACK_IDLE_MS / 2);
    this.#sweep.unref();
    this.#fleet = new FleetSize(options.replicas, options.holder);
    this.#asks = new BudgetAsks({
      ...options,
      observer: this.#observer,
      storeClock: this.#storeClock,
      fleet: this.#fleet,
      holding: this.#holding,
    });
    this.#debits = new ForcedDebits(options.leases, options.holder);
  }

  /** The store's time when this replica's clock reads nowMs, as last measured: windows follow it. */
  storeNow(nowMs: number): number {
    return this.#storeClock.at(nowMs);
  }

  /**
   * Spends `units` of the spec's window whatever is left, down to nothing and never beyond the
   * limit (forced-debits.ts): first what this replica holds unused, then the fleet's unleased rest
   * in the store. Units other replicas hold are theirs to admit, so the fleet never spends more
   * than the limit, and a debit larger than what is left spends what is left.
   */
  debit(spec: BudgetSpec, units: number, nowMs: number): Promise<void> {
    const budget = this.#budgets.peek(spec.bucket);
    let rest = units;
    if (budget !== undefined && this.#alive(budget, nowMs) && !budget.unreachable) {
      const fromHeld = Math.min(rest, budget.available);
      budget.used += fromHeld;
      rest -= fromHeld;
    }
    return rest > 0 ? this.#debits.debit(spec, rest) : Promise.resolve();
  }

  /** Announces this replica now and learns how many lease beside it. */
  refreshReplicas(): Promise<void> {
    return this.#fleet.refresh();
  }

  /**
   * One more request of `cost` units against every spec, in order: counted on all of them when
   * each has `cost` units for it, denied by the first that has not and whose window the fleet has
   * used up (or whose limit is below the cost: it never will), or a promise
   * to wait on (one ask for every bucket that needs one, sent together) after which to call again
   * with `waitMs` 0, when an earlier bucket needs an ask first. The wait lasts at most `waitMs` (what
   * is left of the Check's budget) or the `waitMs` option, whichever is shorter; past it the
   * buckets count as out of reach, as after any unanswered ask.
   */
  take(specs: readonly BudgetSpec[], nowMs: number, waitMs: number, cost = 1): Taken {
    const mayWait = waitMs > 0;
    const budgets: Budget[] = [];
    let asking: Budget[] | null = null;
    let admitting: Budget[] | null = null;
    for (let i = 0; i < specs.length; i++) {
      const budget = this.#budget(specs[i]!, nowMs, mayWait, cost);
      budgets.push(budget);
      const standing = this.#standing(budget, nowMs, mayWait, cost);
      if (standing === "deny" && asking === null) return { admitted: false, index: i, state: this.#state(budget, nowMs, cost) };
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
        if (budget.available < budget.waiting + budget.claimed + cost + lowWater(budget.rate.at(nowMs))) asking.push(budget);
        else claims.push(budget);
      }
      return { waitFor: this.#waitFor(asking, claims, Math.min(this.#options.waitMs, waitMs), cost) };
    }
    const states: RateLimitState[] = [];
    let withoutLease = false;
    for (const budget of budgets) {
      if (budget.used + cost > budget.held) withoutLease = true;
      budget.used += cost;
      budget.lastUseMs = nowMs;
      states.push(this.#state(budget, nowMs));
      if (budget.available > 0) this.#holding.add(budget);
      else this.#holding.delete(budget);
      // Ask ahead while what is held still lasts an ask's round trip at the current rate.
      if (!budget.inAir && !budget.unreachable && budget.available <= lowWater(budget.rate.at(nowMs)) && this.#asks.asksAhead(budget)) this.#asks.enqueue(budget);
    }
    if (withoutLease) this.#asks.admittedWithoutLease();
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

  /** This replica's figures of the bucket come from the store's answer about its current window, not from an outage's guess. */
  answered(bucket: string): boolean {
    const budget = this.#budgets.peek(bucket);
    return budget !== undefined && budget.known && !budget.unreachable;
  }

  /** What of the spec's window no replica holds or has spent, as the store answers now. */
  unleased(spec: BudgetSpec): Promise<number> {
    return this.#debits.unleased(spec);
  }

  /** Gives back every unused unit and leaves the registry (best effort both); call once traffic has stopped. */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    const holding = [...this.#holding].filter((budget) => budget.available > 0 && !budget.inAir);
    for (const budget of holding) budget.giveBack = budget.available;
    await Promise.all([
      holding.length === 0 ? undefined : this.#asks.ask(holding),
      this.#fleet.close(),
    ]);
  }

  /** The spec's budget; `first`: this Check's first look at it, whose cost counts in its rate. */
  #budget(spec: BudgetSpec, nowMs: number, first: boolean, cost: number): Budget {
    let budget = this.#budgets.get(spec.bucket);
    if (budget === undefined || budget.unit !== spec.unit) {
      budget = new Budget(spec);
      this.#budgets.set(spec.bucket, budget);
    }
    // A changed limit holds from the next ask; the units already granted stay granted, but a
    // lowered one binds them too, by the fleet's total as that ask has it.
    if (spec.limit < budget.limit && budget.held > budget.used) budget.recount = true;
    budget.limit = spec.limit;
    if (first) budget.rate.add(nowMs, cost);
    return budget;
  }

  #storeNow(nowMs: number): number {
    return this.#storeClock.at(nowMs);
  }

  #alive(budget: Budget, nowMs: number): boolean {
    return budget.aliveAt(this.#storeNow(nowMs));
  }

  #standing(budget: Budget, nowMs: number, mayWait: boolean, cost: number): Standing {
    // A cost above the whole limit never fits, whatever the fleet holds: no ask can change that.
    if (cost > budget.limit) return "deny";
    if (budget.unreachable) return this.#standingUnreachable(budget, nowMs, cost);
    if (this.#alive(budget, nowMs)) {
      if (budget.recount) return mayWait ? "ask" : "deny";
      if (budget.available >= cost) return "admit";
      // What the fleet has not leased is less than the cost is missing here: nothing can make up for it.
      if (budget.usedUp || (budget.known && budget.available + budget.limit - budget.granted < cost)) {
        if (nowMs - budget.lastAskMs >= budget.recheckMs && !budget.inAir) this.#asks.enqueue(budget);
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
   * background, after a second and then less and less often (Budget.recheckMs).
   */
  #standingUnreachable(budget: Budget, nowMs: number, cost: number): Standing {
    if (!this.#alive(budget, nowMs)) {
      // The window ended with no answer about the next: this replica opens it for itself.
      const window = budget.windowAt(this.#storeNow(nowMs));
      if (budget.windowStartMs !== null) budget.previous = { startMs: budget.windowStartMs, used: budget.used };
      Object.assign(budget, { windowStartMs: window.startMs, windowEndMs: window.endMs, held: 0, used: 0, granted: 0, known: false });
    }
    if (!budget.inAir && nowMs - budget.lastAskMs >= budget.recheckMs) this.#asks.enqueue(budget);
    if (budget.available >= cost) return "admit";
    if (this.#options.outageAllowance === "none" || this.#fleet.live === null) return "deny";
    const unleased = budget.known ? Math.max(0, budget.limit - budget.granted) : budget.limit;
    const allowance = Math.floor(unleased / Math.max(budget.holders, this.#fleet.live));
    return budget.used + cost <= budget.held + allowance ? "admit" : "deny";
  }

  /** The budget as a request of `cost` units sees it. */
  #state(budget: Budget, nowMs: number, cost = 1): RateLimitState {
    const resetAtMs = Math.max(nowMs, this.#storeClock.local(budget.windowEndMs));
    const unleased = budget.known ? Math.max(0, budget.limit - budget.granted) : 0;
    const remaining = Math.max(0, Math.min(budget.limit, unleased + budget.available));
    return { limit: budget.limit, remaining, resetAtMs, retryAtMs: remaining >= cost ? nowMs : resetAtMs };
  }

  /**
   * Registers one Check's demand, its cost, on each budget and gives what settles once all of them
   * were asked: an ask is sized to at least what waits on it, so a cost above a slice is asked for whole.
   */
  #waitFor(budgets: Budget[], claims: Budget[], waitMs: number, cost: number): Promise<void> {
    for (const budget of claims) budget.claimed += cost;
    const named = [...budgets, ...claims];
    for (const budget of named) budget.inWait++;
    const waits: Promise<void>[] = [];
    for (const budget of budgets) {
      budget.waiting += cost;
      budget.next ??= deferred();
      waits.push(budget.next.promise);
      this.#asks.enqueue(budget);
    }
    const started = performance.now();
    // However many asks the answers take (one carried over, a seed first), the Check waits no
    // longer than waitMs: past it, the store counts as out of reach for these buckets.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const budget of budgets) if (budget.inAir || budget.next !== null || budget.seeding) budget.unreachable = true;
        resolve();
      }, waitMs);
    });
    const answered = waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
    return Promise.race([answered, deadline]).then(() => {
      clearTimeout(timer);
      for (const budget of claims) budget.claimed -= cost;
      for (const budget of named) budget.inWait--;
      this.#observer.waited((performance.now() - started) / 1_000);
    });
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
      // Not idle while Checks that asked for its units or claimed them still wait (for another
      // bucket's ask, a slow store, a month's first seed): giving the units back would leave them
      // to decide without them, and under a slow store every Check of a fresh key was denied.
      if (budget.inWait > 0) continue;
      // Only where another replica may want them: while less than half the window is leased,
      // units held here take nothing from anyone, and giving them back would make the key's next
      // Check wait for a new slice.
      if (!budget.known || budget.granted * 2 < budget.limit) continue;
      budget.giveBack = budget.available;
      this.#holding.delete(budget);
      this.#asks.enqueue(budget);
    }
  }
}
