import type { Isolate } from "../unit-of-work.js";

/**
 * The embedded store's isolation for a unit of work: units run one after another. Its writes
 * cannot fail halfway (no I/O), so a unit needs no rollback, only to keep other units from
 * interleaving with it (two retries of one idempotent request, two racing revocations).
 */
export function oneAtATime(): Isolate<undefined> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(attempt: (context: undefined) => Promise<T>): Promise<T> => {
    const run = last.then(() => attempt(undefined));
    last = run.catch(() => {});
    return run;
  };
}
