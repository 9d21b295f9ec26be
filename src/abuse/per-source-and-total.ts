import { SlidingCounters } from "./sliding-counters.js";

export interface PerSourceAndTotalOptions {
  /** Requests admitted per source per window. */
  perSource: number;
  /** Requests admitted from all sources together per window. */
  total: number;
  windowMs: number;
  /** Sources remembered (SlidingCounters.maxSources). */
  maxSources: number;
  nowMs?: () => number;
}

/**
 * A bound on requests anyone may send, such as the unauthenticated secret-scanning endpoint's: a
 * source's own budget first, then everyone's. A source over its own budget is refused without
 * touching the total, so one flooding address cannot use up what the others share; many
 * addresses flooding together meet the total, which caps the work the process does for them.
 */
export class PerSourceAndTotal {
  readonly #perSource: SlidingCounters;
  readonly #total: SlidingCounters;

  constructor(options: PerSourceAndTotalOptions) {
    const { windowMs, nowMs } = options;
    this.#perSource = new SlidingCounters({ limit: options.perSource, windowMs, maxSources: options.maxSources, ...(nowMs && { nowMs }) });
    this.#total = new SlidingCounters({ limit: options.total, windowMs, maxSources: 1, ...(nowMs && { nowMs }) });
  }

  /** Counts one request: 0 when admitted, else the milliseconds until the source may be admitted again. */
  take(source: string): number {
    return this.#perSource.take(source) || this.#total.take("all");
  }

  /**
   * Gives back the place a request took in the total, keeping its source's: a request that turned
   * out genuine (a verified report) so spends nothing of what an unverified flood is bounded by.
   */
  refundTotal(): void {
    this.#total.refund("all");
  }
}
