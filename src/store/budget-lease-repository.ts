/**
 * Rate-limit and quota budgets leased to the replicas that share a store (src/limits/leased-budgets.ts);
 * part of the one storage interface (store.ts).
 */

/** How long a budget window lasts; windows start at whole units of the store's clock (UTC). */
export type BudgetUnit = "second" | "minute" | "hour" | "day" | "month";

/**
 * A window the asker names instead of a unit's (credits: src/limits/credit-windows.ts, whose
 * windows start on a refill day, or at the moment a balance was set, and may never end).
 */
export interface ExplicitBudgetWindow {
  startMs: number;
  /** Null: the window never ends (a balance with no refill). */
  endMs: number | null;
}

/**
 * How long a window the asker named is kept after it ended: an ask for it that comes later (a
 * replica whose clock is behind) must find it, not open it afresh. Windows that ended grant nothing.
 */
export const EXPLICIT_WINDOW_RETENTION_MS = 86_400_000;

/**
 * One replica's ask for units of a bucket's budget in the store's current window
 * (src/limits/leased-budgets.ts). The holder states what it believes it holds; the store moves the
 * holding only when it agrees, so a retried ask whose first try did land changes nothing, and the
 * answer tells the holder what it really holds.
 */
export interface BudgetLeaseRequest {
  bucket: string;
  /** The window's length, unless `window` names it. */
  unit: BudgetUnit;
  /**
   * The window the asker names: the bucket counts in it once it is the latest asked for (a window
   * only moves forward, as unit windows do). Units are granted only while it has not ended on the
   * store's clock.
   */
  window?: ExplicitBudgetWindow;
  /** The bucket's limit as of now: units are granted only while the fleet's total stays within it. */
  limit: number;
  /** The asking replica: letters, digits, `-` and `_` only. */
  holder: string;
  /** Start of the window the holder believes it holds `held` in (store clock); null: none. */
  windowStartMs: number | null;
  /** What the holder believes it holds in that window. */
  held: number;
  /**
   * At least `held`: the holder admitted `floor - held` more without a lease (the store was out
   * of reach). If the window is still the store's current one, the holding is raised to `floor`
   * whatever the limit says: those requests were admitted, and they count.
   */
  floor: number;
  /** More units wanted, granted as far as the limit allows; negative: unused units given back. */
  want: number;
  /**
   * Grant nothing while the window is unseeded (see BudgetLease.unseeded): what was spent before
   * leasing began must count first (a monthly quota).
   */
  seedFirst?: boolean;
}

/** The holder's standing in the store's current window of a bucket, after its ask. */
export interface BudgetLease {
  bucket: string;
  windowStartMs: number;
  /** Infinity for an explicit window with no end. */
  windowEndMs: number;
  /** The store's clock when it answered: windows follow it, never a replica's clock. */
  storeNowMs: number;
  /** What the holder holds in the window now. */
  held: number;
  /**
   * The store took the ask as stated (the belief matched). When not, nothing changed, and `held`
   * is what the holder had already been granted in the window (by an answer it lost, or by an
   * earlier life of its state): units it must take as used.
   */
  applied: boolean;
  /** What the whole fleet holds in the window (every holder's `held`). */
  granted: number;
  /** Replicas that have leased in the window (whatever they hold now), the asker included. */
  holders: number;
  /** The window was opened with no earlier window of the bucket to follow, and not yet seeded. */
  unseeded: boolean;
}

/** Budgets leased to replicas, one window per bucket at a time. */
export interface BudgetLeaseRepository {
  /** Answers every request, in order; the requests are independent and sent together. */
  lease(requests: BudgetLeaseRequest[]): Promise<BudgetLease[]>;
  /**
   * Adds `units` to an unseeded window's total, once (whoever seeds first): what the bucket
   * already spent in this window before its budget was leased (a monthly quota's usage so far).
   */
  seed(bucket: string, windowStartMs: number, units: number): Promise<void>;
}
