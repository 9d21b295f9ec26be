import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COLLECTIONS, createMongoStore, type MongoStore } from "../../src/store/mongo/mongo-store.js";
import { ThreeMemberReplicaSet } from "../support/replica-set.js";

/**
 * A replica's poll of the change log gives up after the store's read deadline. A read sent to a
 * primary that stops answering without closing its connections (a host lost, a partition; the
 * primary's SIGKILL under Wine now and then) otherwise held the poll for the socket timeout
 * (15 s), and with it every change the other members held: in the election suite a revoke
 * reached the other replica 13.7 s after it was acknowledged. Here the primary holds the poll's
 * read (a fail point that blocks it for 15 s), and the read must fail at its deadline instead.
 */
const APP_NAME = "change-log-deadline";
const READ_TIMEOUT_MS = 1_000;
/** Far past the deadline, far short of the 15 s the fail point holds the read. */
const GIVE_UP_MS = 8_000;

describe("the change-log poll on a primary that stops answering", () => {
  let set: ThreeMemberReplicaSet;
  let store: MongoStore;

  beforeAll(async () => {
    set = await ThreeMemberReplicaSet.start();
    store = createMongoStore(`${set.uri}${set.uri.includes("?") ? "&" : "?"}appName=${APP_NAME}`, "change_log_deadline", { readTimeoutMs: READ_TIMEOUT_MS });
    await store.init();
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await set?.stop();
  });

  it("fails at the read deadline, so the next poll can ask a member that answers", { timeout: 60_000 }, async () => {
    expect(await store.changes.recent(60_000)).toEqual([]);
    const primary = await set.waitForPrimary(30_000);
    await set.stall(primary, { appName: APP_NAME, namespace: `change_log_deadline.${COLLECTIONS.keyChanges}`, commands: ["find"] });
    const outcome = await Promise.race([
      store.changes.recent(60_000).then(
        () => "answered",
        () => "failed",
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve("still waiting"), GIVE_UP_MS)),
    ]);
    expect(outcome).toBe("failed");
  });
});
