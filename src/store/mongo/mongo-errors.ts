import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";
import { StoreUnavailableError } from "../errors.js";

/**
 * The driver's errors in the store's own terms (src/store/errors.ts), so nothing above the store
 * needs to know the driver's error classes.
 */

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

/**
 * The driver could not reach a server: none could be selected, the connection failed, timed out
 * or was closed (MongoNetworkError and its MongoNetworkTimeoutError and MongoPoolClearedError),
 * or the client is not connected or already closed.
 */
const isUnreachableError = (error: unknown): boolean =>
  error instanceof MongoServerSelectionError ||
  error instanceof MongoNetworkError ||
  error instanceof MongoNotConnectedError ||
  error instanceof MongoTopologyClosedError;

/** An unreachable-server error as StoreUnavailableError (the driver's error its cause); any other as it is. */
export const inStoreTerms = (error: unknown): unknown =>
  isUnreachableError(error) ? new StoreUnavailableError("MongoDB unreachable", { cause: error }) : error;

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
