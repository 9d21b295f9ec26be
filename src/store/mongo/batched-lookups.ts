/**
 * Lookups by a unique key, gathered into batches. With no query of its own in flight, a lookup
 * goes out at the end of the event-loop turn, with whatever else that turn asked for: a lone
 * cold key waits for no window. While a query is in flight, lookups gather for `windowMs` (or
 * until `maxBatch` distinct keys) and go out as one query. A burst of Checks with keys no cache holds yet (a replica just started, a
 * client rolling out thousands of new keys) then costs one round trip per few milliseconds,
 * not one per key, and the server answers one indexed `$in` query instead of many.
 *
 * Each caller gets its own answer (a later caller asking for the same key in the same batch
 * gets a copy, so no two callers share an object); a failed query fails every caller of its batch.
 */
export interface BatchedLookupOptions {
  /** How long the first lookup of a batch waits for others to join it. */
  readonly windowMs: number;
  /** The most distinct keys one query asks for; a full batch goes out at once. */
  readonly maxBatch: number;
}

/** A few milliseconds: well under a cold lookup's round trip on a loaded server, long enough to gather a burst behind one in flight. */
export const DEFAULT_BATCHED_LOOKUPS: BatchedLookupOptions = { windowMs: 2, maxBatch: 100 };

interface Waiter<V> {
  resolve(value: V | null): void;
  reject(error: unknown): void;
}

/** `load` answers a batch: the value found for each key it holds (a key absent: nothing found). */
export type LoadBatch<V> = (keys: string[]) => Promise<Map<string, V>>;

export class BatchedLookups<V> {
  readonly #load: LoadBatch<V>;
  readonly #options: BatchedLookupOptions;
  #open = new Map<string, Waiter<V>[]>();
  #scheduled: { cancel(): void } | undefined;
  /** Queries sent and not yet answered. */
  #inFlight = 0;

  constructor(load: LoadBatch<V>, options: BatchedLookupOptions = DEFAULT_BATCHED_LOOKUPS) {
    if (!(options.maxBatch >= 1 && options.windowMs >= 0)) throw new Error(`invalid batch options ${JSON.stringify(options)}`);
    this.#load = load;
    this.#options = options;
  }

  get(key: string): Promise<V | null> {
    return new Promise<V | null>((resolve, reject) => {
      const waiters = this.#open.get(key);
      if (waiters !== undefined) {
        waiters.push({ resolve, reject });
        return;
      }
      this.#open.set(key, [{ resolve, reject }]);
      if (this.#open.size >= this.#options.maxBatch) void this.#flush();
      else if (this.#scheduled === undefined) this.#scheduled = this.#schedule();
    });
  }

  #schedule(): { cancel(): void } {
    if (this.#inFlight === 0) {
      const immediate = setImmediate(() => void this.#flush());
      return { cancel: () => clearImmediate(immediate) };
    }
    const timer = setTimeout(() => void this.#flush(), this.#options.windowMs);
    return { cancel: () => clearTimeout(timer) };
  }

  async #flush(): Promise<void> {
    this.#scheduled?.cancel();
    this.#scheduled = undefined;
    const batch = this.#open;
    this.#open = new Map();
    let found: Map<string, V>;
    this.#inFlight++;
    try {
      found = await this.#load([...batch.keys()]);
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      return;
    } finally {
      this.#inFlight--;
    }
    for (const [key, waiters] of batch) {
      const value = found.get(key) ?? null;
      waiters.forEach((waiter, i) => waiter.resolve(i === 0 || value === null ? value : structuredClone(value)));
    }
  }
}
