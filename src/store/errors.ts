/**
 * The store could not be reached or could not complete an operation (as opposed to a bug or a
 * refused write), so callers can answer `unavailable` and clients can retry. A store's
 * repositories and ping reject with it, each store translating its own driver's errors at its
 * boundary (src/store/mongo/mongo-errors.ts), with the driver's error as the cause. Two paths keep
 * the driver's errors as they are, since nothing decides on their type: init() (a failed start
 * prints the driver's own message) and a change stream's iteration (the change feed logs any
 * failure and reopens the stream).
 *
 * A StoreUnavailableError from a write means the write was not applied; a write whose outcome
 * is unknown is a StoreOutcomeUnknownError.
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/**
 * A write was sent but the store did not confirm it, and it may have been applied: a commit
 * whose result stayed unknown through the write wait, a write concern not confirmed, a
 * connection lost with the write in flight, a primary that stepped down under it. A retry must
 * be idempotent (admin RPCs: the same `idempotency-key`).
 */
export class StoreOutcomeUnknownError extends StoreUnavailableError {
  override name = "StoreOutcomeUnknownError";
}

/** True when an error means the store could not be reached or could not complete an operation. */
export const isStoreUnavailable = (error: unknown): boolean => error instanceof StoreUnavailableError;

/** True when a write may have been applied although it failed. */
export const isOutcomeUnknown = (error: unknown): boolean => error instanceof StoreOutcomeUnknownError;
