/**
 * The store's clock as one replica estimates it. Budget windows follow the store's clock, never a
 * replica's: every answer carries the store's time, and the offset to this replica's clock is
 * taken from it so that it errs towards the store's time being later (the store read its clock
 * after the ask was sent): a slice is then never used past its window. It errs by up to the round
 * trip it was measured over, so a slow answer (one that waited out an outage) replaces a quicker
 * one's measure only once that is old.
 */

/** A clock offset measured over a quick round trip is kept this long against slower measures. */
const OFFSET_MAX_AGE_MS = 30_000;

export class StoreClock {
  #offsetMs = 0;
  #roundTripMs = Number.POSITIVE_INFINITY;
  #measuredAtMs = Number.NEGATIVE_INFINITY;

  /** The store's time when this replica's clock reads nowMs. */
  at(nowMs: number): number {
    return nowMs + this.#offsetMs;
  }

  /** This replica's time when the store's clock reads storeMs. */
  local(storeMs: number): number {
    return storeMs - this.#offsetMs;
  }

  /** An answer sent at sentAtMs and received at answeredAtMs said the store's time was storeNowMs. */
  measure(storeNowMs: number, sentAtMs: number, answeredAtMs: number): void {
    const roundTripMs = answeredAtMs - sentAtMs;
    if (roundTripMs <= this.#roundTripMs || answeredAtMs - this.#measuredAtMs > OFFSET_MAX_AGE_MS) {
      this.#offsetMs = storeNowMs - sentAtMs;
      this.#roundTripMs = roundTripMs;
      this.#measuredAtMs = answeredAtMs;
    }
  }
}
