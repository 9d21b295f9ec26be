/**
 * How much of a bucket's budget a replica asks for at a time: pure arithmetic, kept apart from the
 * leasing so it can be tested with tables.
 *
 * A slice covers the demand expected over the next 15 seconds (never past the window's end), so a
 * hot key asks about once per horizon, whatever its rate; it is capped at half of a fair share of
 * what the fleet has not yet leased, so that replicas that come later in the window still find
 * budget and slices shrink to one as the window fills; and it is never less than the Checks
 * already waiting for it, which are demand, not forecast. Once little is left, nothing is asked
 * ahead: a slice held unused at the window's end is budget another replica could not use.
 */

/**
 * Demand a slice is sized for: long enough that a busy key asks rarely and rides through an
 * election (a primary's death takes ~11 s) on what it holds; where the budget is contested the
 * fair cap keeps slices small instead.
 */
export const SLICE_HORIZON_MS = 15_000;
/** The next slice is asked for while the held one still covers this long at the current rate, so a Check does not wait. */
export const PREFETCH_LEAD_MS = 250;
/** Time constant of the rate estimate: recent enough to follow a change, long enough to smooth single Checks. */
export const RATE_TIME_CONSTANT_MS = 5_000;

export interface SliceInputs {
  /** What the fleet has not yet leased of the window (the whole limit in a window not yet seen). */
  unleased: number;
  /** Replicas leasing the bucket in this window, this one included (at least 1). */
  holders: number;
  /** Units (requests times their cost) per second for the bucket on this replica, recently. */
  ratePerSecond: number;
  /** Until the window ends, on the store's clock. */
  windowLeftMs: number;
  /** Units the Checks waiting for this ask need (their costs summed). */
  waiting: number;
  /** Units held and not yet used. */
  available: number;
}

/** Units to ask for (0: enough is held). */
export function unitsToAsk(inputs: SliceInputs): number {
  // Once little is left unleased, only the Checks that wait: nothing held unused at the window's end.
  if (!asksAhead(inputs.unleased, inputs.holders)) return Math.max(0, inputs.waiting - inputs.available);
  const horizonMs = Math.max(0, Math.min(SLICE_HORIZON_MS, inputs.windowLeftMs));
  const expected = Math.ceil((inputs.ratePerSecond * horizonMs) / 1_000);
  const fair = Math.max(1, Math.floor(inputs.unleased / (2 * Math.max(1, inputs.holders))));
  const wanted = Math.max(inputs.waiting, Math.min(expected, fair));
  return Math.max(0, wanted - inputs.available);
}

/** Ask ahead once no more than this is left: what the rate uses up while an ask is on its way. */
export function lowWater(ratePerSecond: number): number {
  return Math.max(1, Math.ceil((ratePerSecond * PREFETCH_LEAD_MS) / 1_000));
}

/**
 * Whether to ask ahead at all: only while the fleet has plenty left unleased (a few units per
 * replica). Near the end of a contested window each replica asks only for Checks that wait, so
 * none holds units unused that another needs.
 */
export function asksAhead(unleased: number, holders: number): boolean {
  return unleased >= 4 * Math.max(1, holders);
}

/** The shortest history the rate estimate extrapolates from. */
const RATE_MIN_HISTORY_MS = 1_000;

/**
 * An exponentially decaying rate: each request adds 1/τ, and the sum decays by e^(-Δt/τ), which
 * estimates requests per second over the last τ or so without keeping any history. A young
 * estimate is divided by the weight its short history can have had (1 - e^(-age/τ), the usual
 * bias correction), so a bucket that just turned hot is seen as hot within a fraction of a second
 * rather than after τ.
 */
export class RateEstimate {
  #sum = 0;
  #atMs = Number.NEGATIVE_INFINITY;
  #firstMs = Number.NaN;

  /** `units` spent now (a request's cost; default 1): the estimate is of units per second, what slices are sized in. */
  add(nowMs: number, units = 1): void {
    if (Number.isNaN(this.#firstMs)) this.#firstMs = nowMs;
    this.#sum = this.#decayed(nowMs) + (units * 1_000) / RATE_TIME_CONSTANT_MS;
    this.#atMs = nowMs;
  }

  /** Requests per second. */
  at(nowMs: number): number {
    if (this.#sum === 0) return 0;
    const age = Math.max(RATE_MIN_HISTORY_MS, nowMs - this.#firstMs);
    return this.#decayed(nowMs) / (1 - Math.exp(-age / RATE_TIME_CONSTANT_MS));
  }

  #decayed(nowMs: number): number {
    return this.#sum * Math.exp(-Math.max(0, nowMs - this.#atMs) / RATE_TIME_CONSTANT_MS);
  }
}
