import type { Isolate } from "../unit-of-work.js";

/**
 * One attempt of a unit, by its identity alone: a repository that holds its writes back until the
 * unit commits (webhook-repository.ts) keys what it holds by it, so what a failed attempt held is
 * dropped with the attempt.
 */
export type MemoryUnit = object;

/**
 * The embedded store's isolation for a unit of work: units run one after another. Its writes
 * cannot fail halfway (no I/O), so a unit needs no rollback, only to keep other units from
 * interleaving with it (two retries of one idempotent request, two racing revocations).
 */
export function oneAtATime(): Isolate<MemoryUnit> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(attempt: (context: MemoryUnit) => Promise<T>): Promise<T> => {
    const run = last.then(() => attempt({}));
    last = run.catch(() => {});
    return run;
  };
}
