/**
 * The store could not be reached (as opposed to a bug or a refused write), so callers can answer
 * `unavailable` and clients can retry. A store's repositories and ping reject with it, each store
 * translating its own driver's errors at its boundary (src/store/mongo/mongo-errors.ts), with the
 * driver's error as the cause. Two paths keep the driver's errors as they are, since nothing
 * decides on their type: init() (a failed start prints the driver's own message) and a change
 * stream's iteration (the change feed logs any failure and reopens the stream).
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/** True when an error means the store could not be reached. */
export const isStoreUnavailable = (error: unknown): boolean => error instanceof StoreUnavailableError;
