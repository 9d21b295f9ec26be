/**
 * Tasks of one source run strictly one after another, each once the previous one settled; other
 * sources are not affected. The admin API looks up the keys of a throttled client address this
 * way (src/admin/authenticate-caller.ts): however many requests it sends at once, it costs the
 * store one lookup at a time, and its requests wait on each other, not on anyone else's. At most
 * `maxPending` tasks of a source wait or run: past that `run` answers undefined and runs nothing,
 * so a flood holds a bounded queue (and bounded memory) per source, not one entry per request.
 * What is kept is one tail promise and a count per source with work pending, dropped when its
 * last task settles.
 */
export class OneAtATime {
  readonly #queues = new Map<string, { tail: Promise<void>; pending: number }>();

  constructor(private readonly maxPending: number) {}

  run<T>(source: string, task: () => Promise<T>): Promise<T> | undefined {
    const queue = this.#queues.get(source) ?? { tail: Promise.resolve(), pending: 0 };
    if (queue.pending >= this.maxPending) return undefined;
    queue.pending++;
    const result = queue.tail.then(task);
    queue.tail = result.then(
      () => {},
      () => {},
    );
    this.#queues.set(source, queue);
    void queue.tail.then(() => {
      if (--queue.pending === 0 && this.#queues.get(source) === queue) this.#queues.delete(source);
    });
    return result;
  }
}
