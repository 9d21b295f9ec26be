import {
  MongoError,
  MongoErrorLabel,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from "mongodb";
import { StoreOutcomeUnknownError, StoreUnavailableError } from "../errors.js";

/**
 * The driver's errors in the store's own terms (src/store/errors.ts), so nothing above the store
 * needs to know the driver's error classes.
 */

/**
 * Thrown inside a unit by a write that lost a race the transaction cannot see coming (two units
 * creating the same counter document): the unit runs again from the start, like after a write
 * conflict, and then sees the winner's document.
 */
export class RaceLost extends Error {
  override name = "RaceLost";
}

/** E11000: a write that would have broken a unique index, so it did not happen. */
export const isDuplicateKeyError = (error: unknown): boolean =>
  error instanceof MongoServerError && error.code === 11000;

/**
 * Runs a write and reports a unique-index violation as the same plain `duplicate …` error the
 * embedded store throws, keeping the driver's error as the cause; any other failure passes through.
 */
export async function reportingDuplicates<T>(write: () => Promise<T>, what: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new Error(`duplicate ${what}`, { cause: error });
    throw error;
  }
}

/** Whether `error`, or an error it was caused by, carries the driver's `label`. */
export function hasErrorLabel(error: unknown, label: string): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof MongoError && cause.hasErrorLabel(label)) return true;
  }
  return false;
}

/**
 * Server codes that say the operation never ran: the member is not (or no longer) primary, or
 * is shutting down, and refused it before doing anything.
 */
const REFUSED_BEFORE_RUNNING = new Set([
  10107, // NotWritablePrimary
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  91, // ShutdownInProgress
  50, // MaxTimeMSExpired (reads are the only operations given a time limit)
  262, // ExceededTimeLimit
]);

/** Server codes that interrupt an operation in flight: a write may have been applied. */
const INTERRUPTED_RUNNING = new Set([
  11602, // InterruptedDueToReplStateChange: the primary stepped down under it
  11600, // InterruptedAtShutdown
  189, // PrimarySteppedDown
]);

/**
 * How a failure leaves the data: "not_applied" (nothing reached the server, or the server
 * refused it before running it, or a transaction was aborted), "unknown" (it may have been
 * applied), or null: not an availability failure at all (a bug, a refused write), left as it is.
 */
function outcomeOf(error: unknown): "not_applied" | "unknown" | null {
  // Inside a transaction the driver says which it was: an aborted transaction applied nothing.
  if (hasErrorLabel(error, MongoErrorLabel.UnknownTransactionCommitResult)) return "unknown";
  if (hasErrorLabel(error, MongoErrorLabel.TransientTransactionError)) return "not_applied";
  // Contention that outlasted the write wait: the unit was aborted, or wrote nothing yet.
  if (error instanceof RaceLost) return "not_applied";
  if (error instanceof MongoServerSelectionError || error instanceof MongoNotConnectedError || error instanceof MongoTopologyClosedError) {
    return "not_applied";
  }
  if (error instanceof MongoWriteConcernError) return "unknown";
  // A connection lost or timed out with the operation sent: it may have run.
  if (error instanceof MongoNetworkError) return "unknown";
  if (error instanceof MongoServerError && typeof error.code === "number") {
    if (REFUSED_BEFORE_RUNNING.has(error.code)) return "not_applied";
    if (INTERRUPTED_RUNNING.has(error.code)) return "unknown";
  }
  return null;
}

/**
 * An availability failure as StoreUnavailableError, or StoreOutcomeUnknownError when a write may
 * have been applied (the driver's error its cause); any other error as it is.
 */
export function inStoreTerms(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const outcome = outcomeOf(error);
  if (outcome === "unknown") return new StoreOutcomeUnknownError("MongoDB did not confirm the operation; it may have been applied", { cause: error });
  if (outcome === "not_applied") return new StoreUnavailableError("MongoDB unreachable", { cause: error });
  return error;
}

/**
 * The repository as the rest of keygate sees it: every method that returns a promise rejects
 * in the store's terms (inStoreTerms); results and every other error pass through. Methods run
 * on the repository itself, whose private fields a Proxy receiver cannot reach, so its own calls
 * between its methods see the driver's errors as they are.
 */
export function withErrorsInStoreTerms<T extends object>(repository: T): T {
  const wrapped = new Map<PropertyKey, (...args: unknown[]) => unknown>();
  return new Proxy(repository, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      let method = wrapped.get(property);
      if (method === undefined) {
        const original = value as (...args: unknown[]) => unknown;
        method = (...args) => {
          const result = original.apply(target, args);
          return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(inStoreTerms(error))) : result;
        };
        wrapped.set(property, method);
      }
      return method;
    },
  });
}
