/**
 * Collapses concurrent loads of the same key into one: while a load runs, every caller for that
 * key gets the same promise. `forget` detaches a running load so the next caller starts afresh
 * (its result is then reported as stale to the `settle` callback, which must not cache it);
 * `abandon` does the same for one given load only, e.g. one that has run past its deadline.
 */
export class SingleFlight<K, V> {
  readonly #running = new Map<K, { promise: Promise<V>; stale: boolean }>();

  get size(): number {
    return this.#running.size;
  }

  run(key: K, load: () => Promise<V>, settle: (value: V, stale: boolean) => void): Promise<V> {
    const running = this.#running.get(key);
    if (running !== undefined) return running.promise;
    const flight = { promise: undefined as unknown as Promise<V>, stale: false };
    // Registered before the load starts, so a load that fails at once still unregisters.
    this.#running.set(key, flight);
    flight.promise = (async () => {
      try {
        const value = await load();
        settle(value, flight.stale);
        return value;
      } finally {
        if (this.#running.get(key) === flight) this.#running.delete(key);
      }
    })();
    return flight.promise;
  }

  forget(key: K): void {
    const running = this.#running.get(key);
    if (running === undefined) return;
    running.stale = true;
    this.#running.delete(key);
  }

  /** Detaches the load `promise` came from, if it is still the one running for `key`. */
  abandon(key: K, promise: Promise<V>): void {
    if (this.#running.get(key)?.promise === promise) this.forget(key);
  }
}
