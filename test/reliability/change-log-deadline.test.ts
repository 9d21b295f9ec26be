import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COLLECTIONS, createMongoStore, type MongoStore } from "../../src/store/mongo/mongo-store.js";
import { ThreeMemberReplicaSet } from "../support/replica-set.js";

/**
 * A replica's poll of the change log does not wait on a primary that stops answering: past the
 * store's read deadline it asks a secondary. A read sent to a primary that stops answering
 * without closing its connections (a host lost, a partition; the primary's SIGKILL under Wine
 * now and then) otherwise held the poll for the socket timeout (15 s), or until a new primary,
 * and with it every change the other members held: in CI's election suite a revoke reached the
 * other replica 13.6 s after it was acknowledged. Here the primary holds the poll's reads (a fail
 * point that blocks them for 15 s), and the entry must come from a secondary meanwhile.
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

  it("past the read deadline, the entries come from a secondary", { timeout: 60_000 }, async () => {
    const change = { kind: "organization", organizationId: "org-deadline" } as const;
    await store.changes.append(change);
    expect((await store.changes.recent(60_000)).map((entry) => entry.change)).toEqual([change]);
    const primary = await set.waitForPrimary(30_000);
    await set.stall(primary, { appName: APP_NAME, namespace: `change_log_deadline.${COLLECTIONS.keyChanges}`, commands: ["find"] });
    const outcome = await Promise.race([
      store.changes.recent(60_000).then(
        (entries) => entries.map((entry) => entry.change),
        (error: unknown) => `failed: ${String(error)}`,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve("still waiting"), GIVE_UP_MS)),
    ]);
    expect(outcome).toEqual([change]);
  });
});
