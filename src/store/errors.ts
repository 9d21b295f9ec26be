/**
 * True when an error means the store could not be reached (as opposed to a bug or a refused
 * write), so callers can answer `unavailable` and clients can retry.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const name = error.name;
  return (
    name === "MongoServerSelectionError" ||
    name === "MongoNetworkError" ||
    name === "MongoNetworkTimeoutError" ||
    name === "MongoNotConnectedError" ||
    name === "MongoTopologyClosedError" ||
    name === "MongoPoolClearedError" ||
    name === "StoreUnavailableError"
  );
}

export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}
