import { LRUCache } from "lru-cache";
import { growingEntryBound } from "../model/entry-bound.js";

/**
 * Events per source over a sliding window, approximated as this fixed window's count plus the
 * previous window's weighted by how much of it still overlaps (the usual sliding-window counter:
 * at most a few percent off, two numbers per source). Memory is bounded: at most `maxSources`
 * sources are tracked, the least recently seen forgotten first; a forgotten source starts again
 * from zero, so a flood of distinct sources costs memory up to the bound and no more.
 */
export interface SlidingCountersOptions {
  /** Events admitted per source per window. */
  limit: number;
  windowMs: number;
  maxSources: number;
  nowMs?: () => number;
}

interface Counter {
  windowStart: number;
  current: number;
  previous: number;
}

export class SlidingCounters {
  readonly limit: number;
  readonly #windowMs: number;
  readonly #nowMs: () => number;
  readonly #counters: LRUCache<string, Counter>;

  constructor(options: SlidingCountersOptions) {
    this.limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#counters = new LRUCache<string, Counter>(growingEntryBound(options.maxSources));
  }

  /** Sources tracked now (bounded by maxSources). */
  get size(): number {
    return this.#counters.size;
  }

  /** The source's events in the sliding window ending now. */
  count(source: string): number {
    const counter = this.#counters.peek(source);
    return counter === undefined ? 0 : this.#estimate(this.#roll(counter, this.#nowMs()), this.#nowMs());
  }

  /** True once the source used up its limit; counts nothing. */
  exceeded(source: string): boolean {
    return this.limit > 0 && this.count(source) >= this.limit;
  }

  /** Counts one event. */
  add(source: string): void {
    const now = this.#nowMs();
    let counter = this.#counters.get(source);
    if (counter === undefined) {
      counter = { windowStart: now - (now % this.#windowMs), current: 0, previous: 0 };
      this.#counters.set(source, counter);
    }
    this.#roll(counter, now).current++;
  }

  /** Takes back one event counted in the current window (none when the window has turned since). */
  refund(source: string): void {
    const counter = this.#counters.peek(source);
    if (counter !== undefined && this.#roll(counter, this.#nowMs()).current > 0) counter.current--;
  }

  /**
   * Counts one event if the limit allows it: 0 when admitted, else the milliseconds until one
   * more would be. A limit of 0 admits everything.
   */
  take(source: string): number {
    if (this.limit <= 0) return 0;
    if (this.exceeded(source)) {
      const now = this.#nowMs();
      const counter = this.#counters.peek(source)!;
      return Math.max(1, counter.windowStart + this.#windowMs - now);
    }
    this.add(source);
    return 0;
  }

  #roll(counter: Counter, now: number): Counter {
    const windowStart = now - (now % this.#windowMs);
    if (windowStart !== counter.windowStart) {
      counter.previous = windowStart - counter.windowStart === this.#windowMs ? counter.current : 0;
      counter.current = 0;
      counter.windowStart = windowStart;
    }
    return counter;
  }

  #estimate(counter: Counter, now: number): number {
    const overlap = 1 - (now - counter.windowStart) / this.#windowMs;
    return counter.current + counter.previous * overlap;
  }
}

/** A throttling source for an IP: the address itself for IPv4, its /64 for IPv6. */
export function ipSource(ip: { version: 4 | 6; bytes: Uint8Array } | null): string {
  if (ip === null) return "unknown";
  if (ip.version === 4) return ip.bytes.join(".");
  return Buffer.from(ip.bytes.subarray(0, 8)).toString("hex") + "::/64";
}
