/**
 * Tasks of one source run strictly one after another, each once the previous one settled; other
 * sources are not affected. The admin API looks up the keys of a throttled client address this
 * way (src/admin/authenticate-caller.ts): however many requests it sends at once, it costs the
 * store one lookup at a time, and its requests wait on each other, not on anyone else's. What is
 * kept is one promise per source with work pending, dropped when its last task settles.
 */
export class OneAtATime {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(source: string, task: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(source) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.#tails.set(source, tail);
    void tail.then(() => {
      if (this.#tails.get(source) === tail) this.#tails.delete(source);
    });
    return result;
  }
}
