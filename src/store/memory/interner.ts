/**
 * Values many keys share (an organization id, an owner, a scope list, a rate limit) held once and
 * named by a small integer, so a stored key costs four bytes per such field instead of its own
 * copy. Counted: a value no key holds any more is dropped, so users and lists that come and go
 * do not pile up in a long-lived process. Values are kept frozen; readers copy what they hand out.
 */
export class Interner<T> {
  readonly #indexByKey = new Map<string, number>();
  readonly #values: (T | undefined)[] = [];
  readonly #keys: (string | undefined)[] = [];
  readonly #holders: number[] = [];
  readonly #free: number[] = [];
  readonly #keyOf: (value: T) => string;
  readonly #frozen: (value: T) => T;

  /** `keyOf` names equal values alike; `frozen` makes the copy that is kept. */
  constructor(keyOf: (value: T) => string, frozen: (value: T) => T) {
    this.#keyOf = keyOf;
    this.#frozen = frozen;
  }

  /** The value's index, held once more: each hold is given back with one release. */
  hold(value: T): number {
    const key = this.#keyOf(value);
    const known = this.#indexByKey.get(key);
    if (known !== undefined) {
      this.#holders[known]!++;
      return known;
    }
    const index = this.#free.pop() ?? this.#values.length;
    this.#values[index] = this.#frozen(value);
    this.#keys[index] = key;
    this.#holders[index] = 1;
    this.#indexByKey.set(key, index);
    return index;
  }

  release(index: number): void {
    if (--this.#holders[index]! > 0) return;
    this.#indexByKey.delete(this.#keys[index]!);
    this.#values[index] = undefined;
    this.#keys[index] = undefined;
    this.#free.push(index);
  }

  get(index: number): T {
    return this.#values[index]!;
  }

  /** How many distinct values are held (what a test of the counting looks at). */
  get size(): number {
    return this.#indexByKey.size;
  }
}

export const stringInterner = (): Interner<string> =>
  new Interner<string>(
    (value) => value,
    (value) => value,
  );

/** Lists and small records, named by their JSON. */
export const frozenInterner = <T extends object>(freeze: (value: T) => T): Interner<T> => new Interner<T>(JSON.stringify, freeze);
