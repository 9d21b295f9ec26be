import type { KeyRateLimit } from "../../model/records.js";
import { windowAt } from "../../time/budget-windows.js";

/**
 * The Check path's part in `rate_limit.exceeded`: it only counts. A Check denied RATE_LIMITED by
 * its key's own rate limit notes the key and the limit's window here; the webhook scheduler takes
 * the notes off the hot path (RateLimitEvents) and makes one event per key and window from them.
 *
 * A key already noted in the current window costs a map lookup and two comparisons, nothing
 * allocated; only the first denial of a key in a window makes a note. The notes are bounded:
 * once `maxKeys` keys are noted and not yet taken, further keys are counted as dropped and get
 * no event for that window (a storm of rate-limited keys must not grow memory without bound).
 * A key denied in two windows between two takes is noted for the later one only, so a key on a
 * per-second limit gets at most one event per scheduler pass rather than one per second.
 */

/** The key as Check holds it (src/cache/cached-key.ts has this shape). */
export interface RateLimitedKey {
  readonly id: string;
  readonly organizationId: string;
  readonly rateLimit: Readonly<KeyRateLimit> | null;
}

/** One key's denial in one window of its limit. */
export interface RateLimitNote {
  readonly keyId: string;
  readonly organizationId: string;
  /** The limit that denied it, as it was then. */
  readonly limit: Readonly<KeyRateLimit>;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** Taken by the scheduler already: the window's event is made (or being made). */
  taken: boolean;
}

/** What AuthorizationDeps takes: the one call Check makes. */
export interface RateLimitObserver {
  /** A Check was denied RATE_LIMITED by `key`'s own rate limit at `nowMs`. */
  rateLimited(key: RateLimitedKey, nowMs: number): void;
}

export class RateLimitNotes implements RateLimitObserver {
  readonly #notes = new Map<string, RateLimitNote>();
  readonly #maxKeys: number;
  #dropped = 0;

  constructor(options: { maxKeys?: number } = {}) {
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  rateLimited(key: RateLimitedKey, nowMs: number): void {
    const limit = key.rateLimit;
    if (limit === null) return;
    const known = this.#notes.get(key.id);
    if (known !== undefined && nowMs >= known.windowStartMs && nowMs < known.windowEndMs && known.limit.period === limit.period) return;
    if (known === undefined && this.#notes.size >= this.#maxKeys) {
      this.#dropped++;
      return;
    }
    const window = windowAt(limit.period, nowMs);
    this.#notes.set(key.id, {
      keyId: key.id,
      organizationId: key.organizationId,
      limit,
      windowStartMs: window.startMs,
      windowEndMs: window.endMs,
      taken: false,
    });
  }

  /**
   * The notes not taken yet, marked taken; notes of windows that ended by `nowMs` and were taken
   * are forgotten, which frees their room. Call `untake` for those whose event could not be made.
   */
  take(nowMs: number): RateLimitNote[] {
    const fresh: RateLimitNote[] = [];
    for (const [keyId, note] of this.#notes) {
      if (!note.taken) {
        note.taken = true;
        fresh.push(note);
      } else if (note.windowEndMs <= nowMs) {
        this.#notes.delete(keyId);
      }
    }
    return fresh;
  }

  /** The note's event was not made (the store failed): the next take offers it again. */
  untake(note: RateLimitNote): void {
    if (this.#notes.get(note.keyId) === note) note.taken = false;
  }

  /** Keys not noted since the last call because the notes were full; resets the count. */
  takeDropped(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }
}
