import type { ExplicitBudgetWindow } from "../store/store.js";
import { windowAt, type Window, type WindowUnit } from "../time/budget-windows.js";
import { RateEstimate } from "./lease-sizing.js";

export interface BudgetSpec {
  bucket: string;
  /** The window's length, unless `window` names it. */
  unit: WindowUnit;
  /** The window itself, named by the asker (credits: credit-lines.ts); the bucket counts in no other. */
  window?: ExplicitBudgetWindow;
  limit: number;
  /** What was spent before leasing began counts first: nothing is granted until the window is seeded. */
  seedFirst?: boolean;
}

/**
 * One bucket's budget as one replica holds it (src/limits/leased-budgets.ts keeps them): its
 * window, what the store granted it there and what it used, and the Checks waiting for its next
 * ask.
 */

/**
 * A bucket the fleet has used up, or one the store did not answer for, is asked again after this,
 * then after twice as long each time nothing came of it (up to the cap): an organization far over
 * its quota costs the store a write a minute per replica, not one a second.
 */
export const RECHECK_FIRST_MS = 1_000;
export const RECHECK_MAX_MS = 60_000;

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  /** These Checks were carried over from an ask that could not cover them: never carried again. */
  carried: boolean;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve, carried: false };
}

export class Budget {
  readonly bucket: string;
  readonly unit: WindowUnit;
  readonly window: ExplicitBudgetWindow | null;
  limit: number;
  /** The window held and used count in (store clock); null until the first answer. */
  windowStartMs: number | null = null;
  windowEndMs = 0;
  /** Units the store has granted this replica in the window. */
  held = 0;
  /** Requests admitted in the window; above `held` only for those admitted without a lease. */
  used = 0;
  /** The fleet's total and the replicas leasing, as of the last answer; unknown after a roll in an outage. */
  granted = 0;
  holders = 0;
  known = false;
  /** The window before a roll this replica made alone (the store unreachable), and what it used there. */
  previous: { startMs: number; used: number } | null = null;
  /** Set while an ask is on its way. */
  inAir = false;
  /** Units the Checks waiting for the next ask need (their costs summed), and what wakes them. */
  waiting = 0;
  next: Deferred | null = null;
  /**
   * Units that Checks waiting for other buckets will take of this one when they decide again
   * (their costs summed): demand on what is held here, until they wake.
   */
  claimed = 0;
  /**
   * Checks inside a wait that names this budget, asked for or claimed; their wait may outlast its
   * answer (another bucket's ask, a month's seed). While any wait, its units are not idle.
   */
  inWait = 0;
  /** Units to give back with the next ask. */
  giveBack = 0;
  /**
   * The limit was lowered since the last answer: the units held here are used again only once an
   * answer says what the whole fleet holds now (`granted` as last answered may predate the others'
   * slices, and would let this replica use units the new limit does not leave it).
   */
  recount = false;
  /** The last ask failed or is late: the store is out of reach for this bucket. */
  unreachable = false;
  lastAskMs = Number.NEGATIVE_INFINITY;
  recheckMs = RECHECK_FIRST_MS;
  /** Its window's seed is being loaded and written: no ask until it lands (it would grant nothing). */
  seeding = false;
  readonly seedFirst: boolean;
  lastUseMs = Number.NEGATIVE_INFINITY;
  readonly rate = new RateEstimate();

  constructor(spec: BudgetSpec) {
    this.bucket = spec.bucket;
    this.unit = spec.unit;
    this.window = spec.window ?? null;
    this.limit = spec.limit;
    this.seedFirst = spec.seedFirst === true;
  }

  /** The window that holds the store's time storeNowMs: the named one, or the unit's (its end Infinity when it has none). */
  windowAt(storeNowMs: number): Window {
    return this.window === null ? windowAt(this.unit, storeNowMs) : { startMs: this.window.startMs, endMs: this.window.endMs ?? Infinity };
  }

  /** The window held is still open at the store's time storeNowMs. */
  aliveAt(storeNowMs: number): boolean {
    return this.windowStartMs !== null && storeNowMs < this.windowEndMs;
  }

  /** The fleet has granted the whole limit of the window this replica holds. */
  get usedUp(): boolean {
    return this.known && this.granted >= this.limit;
  }

  /**
   * Units this replica may still admit. A limit lowered below what the fleet holds binds here at
   * once: this replica keeps at most what the new limit leaves beside the others' holdings.
   */
  get available(): number {
    const usable = this.known ? Math.min(this.held, this.limit - (this.granted - this.held)) : this.held;
    return Math.max(0, usable - this.used);
  }
}
