/**
 * One object per distinct value, shared by every cached key that has it: the scope lists,
 * allow-lists and rate limits of 100,000 keys are a few dozen objects, not 100,000 copies.
 * Rows are held weakly: a value no cached key holds any more is collected, and its row goes
 * with it, so the table is bounded by the keys in the cache without an eviction rule of its own.
 *
 * Each value also carries an estimate of its bytes and how many keys were given it, so the key
 * cache's byte bound can charge a key its share (shareOf): the first key of a list pays all of
 * it, and a list that only one key has (an allow-list written for one client) is paid in full.
 */

interface Share {
  readonly bytes: number;
  holders: number;
}

export class InternTable<T extends object> {
  readonly #rows = new Map<string, WeakRef<T>>();
  readonly #shares = new WeakMap<T, Share>();
  readonly #collected = new FinalizationRegistry<string>((canonical) => {
    // The row may hold a newer value by now (made after this one became unreachable).
    if (this.#rows.get(canonical)?.deref() === undefined) this.#rows.delete(canonical);
  });

  /**
   * The value for `canonical` (a string that is equal exactly when the values are), made by
   * `make` when there is none; `bytes` estimates what a new value costs.
   */
  intern(canonical: string, make: () => T, bytes: number): T {
    let value = this.#rows.get(canonical)?.deref();
    if (value === undefined) {
      value = make();
      this.#rows.set(canonical, new WeakRef(value));
      this.#shares.set(value, { bytes, holders: 0 });
      this.#collected.register(value, canonical);
    }
    this.#shares.get(value)!.holders++;
    return value;
  }

  /** The bytes of `value` divided among the keys given it so far (0 for a value not from this table). */
  shareOf(value: T): number {
    const share = this.#shares.get(value);
    return share === undefined ? 0 : Math.ceil(share.bytes / share.holders);
  }
}
