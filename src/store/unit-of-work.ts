import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What runs as one unit (Store.atomically in src/store/store.ts): the store writes inside it
 * commit together or not at all, and effects outside the store (cache updates, events to other
 * workers) wait until they have committed. Each store supplies `isolate`: how one attempt runs
 * isolated from the others (a MongoDB transaction, the embedded store's one-at-a-time), and how
 * often it is attempted: an attempt that lost a race runs again from the start, and the effects
 * it queued are dropped with it.
 */
/** `signal`: the caller gave up (an RPC's deadline), so no further attempt is worth starting. */
export type Isolate<Context> = <T>(attempt: (context: Context) => Promise<T>, signal?: AbortSignal) => Promise<T>;

interface Attempt<Context> {
  /** The store's handle on the attempt (a MongoDB session). */
  readonly context: Context;
  /** Effects to run once the attempt has committed, in order. */
  readonly effects: (() => void)[];
}

export class UnitOfWork<Context> {
  readonly #current = new AsyncLocalStorage<Attempt<Context>>();
  readonly #isolate: Isolate<Context>;

  constructor(isolate: Isolate<Context>) {
    this.#isolate = isolate;
  }

  /**
   * Runs `work` as one unit; inside a unit already, `work` joins it (so a store method that
   * needs several writes is atomic on its own and within a caller's unit alike).
   */
  async atomically<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#current.getStore() !== undefined) return work();
    let last: Attempt<Context> | undefined;
    const result = await this.#isolate((context) => {
      const attempt: Attempt<Context> = { context, effects: [] };
      last = attempt;
      return this.#current.run(attempt, work);
    }, signal);
    // Only the attempt that committed returns: it is the last one begun.
    for (const effect of last?.effects ?? []) effect();
    return result;
  }

  /** Runs `effect` once the current unit has committed; at once outside any unit. */
  afterCommit(effect: () => void): void {
    const attempt = this.#current.getStore();
    if (attempt === undefined) effect();
    else attempt.effects.push(effect);
  }

  /** The store's handle on the unit running now, if any. */
  context(): Context | undefined {
    return this.#current.getStore()?.context;
  }
}
