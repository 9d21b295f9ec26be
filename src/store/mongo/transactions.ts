import { setTimeout as sleep } from "node:timers/promises";
import { MongoErrorLabel, type ClientSession, type MongoClient } from "mongodb";
import { isStoreUnavailable, StoreOutcomeUnknownError, StoreUnavailableError } from "../errors.js";
import type { Isolate } from "../unit-of-work.js";
import { hasErrorLabel as hasLabel, inStoreTerms, RaceLost } from "./mongo-errors.js";

/**
 * A unit of work on MongoDB (src/store/unit-of-work.ts): a transaction with majority read and
 * write concerns, so what it commits survives any election. An attempt that fails with a
 * transient error (a write conflict with another unit, a primary that stepped down) is run again
 * from the start, and a commit whose result is unknown is committed again (commitTransaction is
 * idempotent), each until `waitMs` has passed since the unit began: long enough to wait out an
 * election (10–12 s), bounded so a caller is answered. This follows the driver's withTransaction,
 * whose own bound is a fixed 120 s in this driver (its timeoutMS has no effect).
 *
 * `transactions()` says whether the deployment has them (a replica set or a sharded cluster); a
 * standalone mongod has not, and there the unit's writes are made one by one, without a session:
 * a unit that fails there on the store may have made some of them, so it says so
 * (StoreOutcomeUnknownError).
 */

/**
 * A unit of work on MongoDB as its collections see it (session-collection.ts): the transaction's
 * session, none on a standalone; and how many of its writes the server has acknowledged so far.
 */
export interface MongoUnit {
  readonly session: ClientSession | undefined;
  writesDone: number;
  /** The unit's last operation, which the next one waits for (session-collection.ts). */
  previous: Promise<unknown>;
}

export function transactional(client: MongoClient, transactions: () => boolean, waitMs: number): Isolate<MongoUnit> {
  return async <T>(attempt: (unit: MongoUnit) => Promise<T>, signal?: AbortSignal): Promise<T> => {
    if (!transactions()) {
      const unit: MongoUnit = { session: undefined, writesDone: 0, previous: Promise.resolve() };
      try {
        return await attempt(unit);
      } catch (error) {
        // A failure after some of the unit's writes were made leaves those made.
        if (unit.writesDone === 0 || !isStoreUnavailable(inStoreTerms(error))) throw error;
        throw new StoreOutcomeUnknownError("MongoDB failed during a unit of work without transactions (a standalone mongod) after some of its writes", { cause: error });
      }
    }
    const deadline = new Deadline(waitMs, signal);
    const progress = { committing: false, abandoned: false };
    const running = attempts(client, attempt, deadline, progress);
    // An operation can wait on its own for a server (a whole server selection) past the deadline:
    // the unit answers at the write wait plus a grace whatever it waits on, and what it leaves
    // behind never commits (a commit already sent may have been applied, and says so).
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        progress.abandoned = true;
        reject(
          progress.committing
            ? new StoreOutcomeUnknownError(`MongoDB did not confirm the commit within ${waitMs} ms; it may have been applied`)
            : new StoreUnavailableError(`MongoDB did not complete the unit within ${waitMs} ms (KEYGATE_STORE_WRITE_WAIT_MS); nothing was committed`),
        );
      }, waitMs + OVERDUE_GRACE_MS);
    });
    running.catch(() => {});
    try {
      return await Promise.race([running, overdue]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** How long past the write wait a unit may take to give its own answer before it is given one. */
const OVERDUE_GRACE_MS = 1_000;

async function attempts<T>(
  client: MongoClient,
  attempt: (unit: MongoUnit) => Promise<T>,
  deadline: Deadline,
  progress: { committing: boolean; abandoned: boolean },
): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    // A session of its own per attempt, ended before the next begins: an operation of a failed
    // attempt still under way can then never land in the next attempt's transaction.
    const session = client.startSession();
    try {
      session.startTransaction({ readConcern: { level: "majority" }, writeConcern: { w: "majority" }, readPreference: "primary" });
      const outcome = await attempt({ session, writesDone: 0, previous: Promise.resolve() }).then(
        (result) => ({ result }),
        async (error: unknown) => {
          if (session.inTransaction()) await session.abortTransaction().catch(() => {});
          const transient = error instanceof RaceLost || hasLabel(error, MongoErrorLabel.TransientTransactionError);
          if (!transient || deadline.passed()) throw error;
          return undefined; // lost a race: run again
        },
      );
      if (outcome !== undefined) {
        // Given up on (overdue): never commit what nobody waits for any more.
        if (progress.abandoned) throw new StoreUnavailableError("unit abandoned before its commit");
        progress.committing = true;
        if (await commit(session, deadline)) return outcome.result;
        progress.committing = false;
      }
    } finally {
      await session.endSession().catch(() => {});
    }
    if (progress.abandoned) throw new StoreUnavailableError("unit abandoned");
    await backOff(attempts, deadline);
  }
}

/**
 * Commits; true once committed, false when the whole transaction must run again (a transient
 * error at commit). A result that stays unknown past the deadline is thrown as it is: the
 * caller reports that the change may have been applied (mongo-errors.ts).
 */
async function commit(session: ClientSession, deadline: Deadline): Promise<boolean> {
  // Once a try came back unknown, the commit may have been applied whatever later tries say (a
  // retry that finds no primary says nothing about the first).
  let unknown = false;
  for (let attempts = 1; ; attempts++) {
    try {
      await session.commitTransaction();
      return true;
    } catch (error) {
      unknown ||= hasLabel(error, MongoErrorLabel.UnknownTransactionCommitResult);
      if (unknown && !deadline.passed()) {
        await backOff(attempts, deadline);
        continue;
      }
      if (unknown) throw new StoreOutcomeUnknownError("MongoDB did not confirm the commit; it may have been applied", { cause: error });
      if (hasLabel(error, MongoErrorLabel.TransientTransactionError) && !deadline.passed()) return false;
      throw error;
    }
  }
}

/** Jittered exponential back-off (5 ms growing to 500 ms, as the driver's), never past the deadline. */
async function backOff(attempts: number, deadline: Deadline): Promise<void> {
  const ms = Math.random() * Math.min(5 * 1.5 ** attempts, 500);
  await sleep(Math.max(0, Math.min(ms, deadline.remainingMs())));
}

/**
 * Until when a unit keeps trying: the write wait, or sooner when its caller gives up (the RPC's
 * own deadline or cancellation aborts `signal`), so no attempt starts that nobody waits for.
 */
class Deadline {
  readonly #at: number;
  readonly #signal: AbortSignal | undefined;

  constructor(waitMs: number, signal: AbortSignal | undefined) {
    this.#at = performance.now() + waitMs;
    this.#signal = signal;
  }

  passed(): boolean {
    return this.#signal?.aborted === true || performance.now() >= this.#at;
  }

  remainingMs(): number {
    return this.passed() ? 0 : this.#at - performance.now();
  }
}
