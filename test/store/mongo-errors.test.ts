import { MongoError, MongoErrorLabel, MongoNetworkError, MongoServerError, MongoWriteConcernError } from "mongodb";
import { describe, expect, it } from "vitest";
import { isOutcomeUnknown, isStoreUnavailable, StoreOutcomeUnknownError, StoreUnavailableError } from "../../src/store/errors.js";
import { inStoreTerms, RaceLost } from "../../src/store/mongo/mongo-errors.js";

/**
 * How the driver's failures reach the rest of keygate: whether a write that failed may have been
 * applied decides whether an admin client is told "nothing changed" or "retry idempotently". The
 * driver's error classes are built by hand here; test/reliability/elections*.test.ts meets them
 * for real on a replica set that loses its primary.
 */
const serverError = (code: number, labels: string[] = []) => {
  const error = new MongoServerError({ code, errmsg: `code ${code}`, ok: 0 });
  for (const label of labels) error.addErrorLabel(label);
  return error;
};

const verdict = (error: unknown): "not_applied" | "unknown" | "other" => {
  const inTerms = inStoreTerms(error);
  if (isOutcomeUnknown(inTerms)) return "unknown";
  return isStoreUnavailable(inTerms) ? "not_applied" : "other";
};

describe("the driver's failures in the store's terms", () => {
  it.each([
    ["a member that is not primary refused it (NotWritablePrimary)", serverError(10107), "not_applied"],
    ["a secondary refused a read (NotPrimaryNoSecondaryOk)", serverError(13435), "not_applied"],
    ["a read ran out of its time limit (MaxTimeMSExpired)", serverError(50), "not_applied"],
    ["a member shutting down refused it", serverError(91), "not_applied"],
    ["an aborted transaction (TransientTransactionError)", serverError(112, [MongoErrorLabel.TransientTransactionError]), "not_applied"],
    ["a commit whose result stayed unknown", serverError(64, [MongoErrorLabel.UnknownTransactionCommitResult]), "unknown"],
    ["the primary stepped down under the write", serverError(11602), "unknown"],
    ["a write concern that was not confirmed", new MongoWriteConcernError({ writeConcernError: { code: 64, errmsg: "waiting for replication timed out" }, ok: 1 }), "unknown"],
    ["a connection lost with the operation sent", new MongoNetworkError("connection reset"), "unknown"],
    ["contention that outlasted the write wait (a unit that kept losing races)", new RaceLost("lost"), "not_applied"],
    ["a duplicate key: a refused write, not an outage", serverError(11000), "other"],
    ["a bug", new TypeError("x is undefined"), "other"],
  ])("%s: %s", (_, error, expected) => {
    expect(verdict(error)).toBe(expected);
  });

  it("keeps the driver's error as the cause, and reads labels through causes", () => {
    const commit = serverError(64, [MongoErrorLabel.UnknownTransactionCommitResult]);
    const wrapped = new Error("the unit failed", { cause: commit });
    const inTerms = inStoreTerms(wrapped);
    expect(inTerms).toBeInstanceOf(StoreOutcomeUnknownError);
    expect((inTerms as Error).cause).toBe(wrapped);
  });

  it("leaves an error already in the store's terms as it is", () => {
    const unavailable = new StoreUnavailableError("down");
    expect(inStoreTerms(unavailable)).toBe(unavailable);
    expect(inStoreTerms(new MongoError("plain"))).toBeInstanceOf(MongoError);
  });
});
