import { MongoError, MongoErrorLabel, type MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { isOutcomeUnknown, isStoreUnavailable } from "../../src/store/errors.js";
import { transactional } from "../../src/store/mongo/transactions.js";

/**
 * The transaction loop's verdict on commits that fail, against a session whose commits fail as
 * told (the real thing meets them on a replica set losing its primary: elections.test.ts).
 */
function clientCommitting(failures: MongoError[], commitHangs = false): { client: MongoClient; commits: () => number } {
  let commits = 0;
  const session = {
    startTransaction() {},
    inTransaction: () => false,
    async abortTransaction() {},
    async endSession() {},
    async commitTransaction() {
      if (commitHangs) return new Promise(() => {});
      const failure = failures[commits++];
      if (failure) throw failure;
    },
  };
  return { client: { startSession: () => session } as unknown as MongoClient, commits: () => commits };
}

const labelled = (message: string, label?: string) => {
  const error = new MongoError(message);
  if (label) error.addErrorLabel(label);
  return error;
};

describe("committing a unit's transaction", () => {
  it("retries a commit whose result is unknown, and answers once it commits", async () => {
    const { client, commits } = clientCommitting([labelled("connection lost", MongoErrorLabel.UnknownTransactionCommitResult)]);
    await expect(transactional(client, () => true, 5_000)(async () => "done")).resolves.toBe("done");
    expect(commits()).toBe(2);
  });

  it("once a commit came back unknown, a later failure (no primary to retry on) still says it may have been applied", async () => {
    const { client } = clientCommitting([
      labelled("connection lost", MongoErrorLabel.UnknownTransactionCommitResult),
      ...Array.from({ length: 50 }, () => labelled("no primary could be selected")),
    ]);
    const failure = await transactional(client, () => true, 5_000)(async () => "done").catch((error: unknown) => error);
    expect(isOutcomeUnknown(failure)).toBe(true);
  });

  it("answers by the write wait (plus a grace) whatever an operation waits on: nothing committed before the commit", async () => {
    const { client, commits } = clientCommitting([]);
    const failure = await transactional(client, () => true, 100)(() => new Promise(() => {})).catch((error: unknown) => error);
    expect(isStoreUnavailable(failure) && !isOutcomeUnknown(failure)).toBe(true);
    expect(commits()).toBe(0);
  });

  it("a commit that never answers by then may have been applied, and says so", async () => {
    const { client } = clientCommitting([], true);
    const failure = await transactional(client, () => true, 100)(async () => "done").catch((error: unknown) => error);
    expect(isOutcomeUnknown(failure)).toBe(true);
  });
});
