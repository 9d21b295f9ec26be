import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MongoClient, type Db } from "mongodb";
import type { MongoMemoryReplSet } from "mongodb-memory-server-core";
import { createMongoStore, type MongoStore } from "../../src/store/mongo/mongo-store.js";
import { anOperator, operatorClientFor } from "../admin/clients.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { checker, within } from "./check-client.js";
import { restartMongod, startReplicaSet } from "../support/mongod-launch.js";
import { MONGOD_HOOK_TIMEOUT_MS } from "../support/mongod-timeout.js";

/**
 * Two keygate replicas over a real MongoDB replica set of this file's own (one member): a change
 * made through A reaches B's cache through the change stream. B's poll runs every 60 s, so the
 * poll cannot be what delivers anything here within the bound. The stream outlives a resumable
 * error (the driver resumes it), one it cannot resume (the feed reopens it) and a restart of the
 * member; close() leaves no change stream cursor on the server.
 */
const POLL_MS = 60_000;
/**
 * Measured here (mongod under Wine, a shared 2-core machine, 30 revokes): B's cache entry is gone
 * 2 ms after RevokeKey returns on A (median; at most 12 ms), and B's Check denies after 15 ms
 * (median, Check round trips included; at most 44 ms). The bound leaves ten times that for a slow
 * CI machine and is still 120 times below the poll interval.
 */
const BOUND_MS = 500;
const DATABASE = "keygate_change_stream";
/** mongod under Wine starts in about 3 s; a cold machine may take far longer. */

/** The stores' write wait (and server selection timeout): short, see beforeAll. */
const WRITE_WAIT_MS = 2_000;

/** Change stream cursors on the change log opened by clients named `appName`, idle or waiting. */
async function changeStreamCursors(admin: Db, appName: string): Promise<number> {
  const cursors = await admin
    .aggregate([
      { $currentOp: { allUsers: true, idleCursors: true } },
      { $match: { ns: `${DATABASE}.key_changes`, appName, "cursor.originatingCommand.pipeline.0.$changeStream": { $exists: true } } },
    ])
    .toArray();
  return cursors.length;
}

const FAILED = "change stream failed; the poll covers until it reopens";
const REOPENED = "change stream reopened";

/** Lines of a replica's log with this message. */
const logged = (t: TestApp, message: string) => t.logs.filter((line) => line.includes(`"msg":"${message}"`)).length;

describe("changes reach the other replica through the change stream (replica set)", () => {
  let replSet: MongoMemoryReplSet;
  let admin: MongoClient;
  let storeA: MongoStore;
  let storeB: MongoStore;
  let a: TestApp;
  let b: TestApp;
  let checkB: ReturnType<typeof checker>;

  /** Makes B's next getMore on its stream fail as `data` says (a server failpoint, test commands on). */
  async function failNextGetMoreOfB(data: Record<string, unknown>): Promise<void> {
    const { count } = await admin.db("admin").command({
      configureFailPoint: "failCommand",
      mode: { times: 1 },
      data: { failCommands: ["getMore"], appName: "replica-b", ...data },
    });
    // An idle stream sends a getMore every second.
    await admin.db("admin").command({ waitForFailPoint: "failCommand", timesEntered: Number(count) + 1, maxTimeMS: 10_000 });
  }

  /** A key allowed and cached on B, then revoked through A: how long until B's Check denies it. */
  async function revokeOnAReachesB(): Promise<number> {
    const { key, secret } = await a.client.createKey({ name: "svc", scopes: ["machines:read"] });
    expect(await checkB(secret)).toBe("allowed"); // cached on B for 60 s
    await a.client.revokeKey({ id: key!.id });
    return within(BOUND_MS, "API_KEY_REVOKED", () => checkB(secret));
  }

  beforeAll(async () => {
    replSet = await startReplicaSet({ args: ["--setParameter", "enableTestCommands=1"] });
    admin = new MongoClient(replSet.getUri());
    // A short write wait (server selection) keeps the outage below short: the driver gives up
    // resuming after it, which is what the feed's reopen is tested against.
    storeA = createMongoStore(replSet.getUri(), DATABASE, { writeWaitMs: WRITE_WAIT_MS, client: { appName: "replica-a" } });
    storeB = createMongoStore(replSet.getUri(), DATABASE, { writeWaitMs: WRITE_WAIT_MS, client: { appName: "replica-b" } });
    await storeA.init();
    await storeB.init();
    const env = { KEYGATE_CHANGE_POLL_INTERVAL_MS: String(POLL_MS), KEYGATE_CACHE_TTL_MS: "60000" };
    a = await startTestApp({ store: storeA, closeStore: false, env });
    b = await startTestApp({ store: storeB, closeStore: false, env });
    checkB = checker(b.app.url);
    await within(10_000, "1", async () => String(await changeStreamCursors(admin.db("admin"), "replica-b")));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await storeA?.close();
    await storeB?.close();
    await admin?.close();
    await replSet?.stop();
  });

  it("a revoke on A: B denies within the bound, long before its next poll", async () => {
    expect(await revokeOnAReachesB()).toBeLessThan(BOUND_MS);
  });

  it("a plan change made through A reaches B's cached key within the bound", async () => {
    const operatorApi = operatorClientFor(a, (await anOperator(a)).secret);
    const tenant = await operatorApi.createOrganization({ name: "Plan Co", plan: "free", ownerName: "Pat", issueOwnerKey: true });
    const hash = b.app.hasher.hash(tenant.ownerKeySecret);
    await checkB(tenant.ownerKeySecret);
    expect(b.app.keyCache.cached(hash)?.plan.name).toBe("free");
    await operatorApi.setOrganizationPlan({ id: tenant.organization!.id, plan: "pro" });
    await within(BOUND_MS, "pro", async () => {
      await checkB(tenant.ownerKeySecret);
      return b.app.keyCache.cached(hash)?.plan.name ?? "none";
    });
  });

  it("a resumable error (connection dropped under the stream) is resumed by the driver: no reopen, changes still arrive at once", async () => {
    const failed = logged(b, FAILED);
    await failNextGetMoreOfB({ closeConnection: true });
    expect(await revokeOnAReachesB()).toBeLessThan(BOUND_MS);
    expect(logged(b, FAILED)).toBe(failed);
  });

  it("an error the driver cannot resume (ChangeStreamHistoryLost) makes the feed reopen the stream; changes arrive at once again", async () => {
    const reopened = logged(b, REOPENED);
    await failNextGetMoreOfB({ errorCode: 286 });
    await within(10_000, String(reopened + 1), async () => String(logged(b, REOPENED)));
    expect(await revokeOnAReachesB()).toBeLessThan(BOUND_MS);
  });

  // The member's restart may take as long as a start.
  it("an outage longer than the driver's resume: the feed reopens the stream once the member is back; changes arrive at once again", { timeout: MONGOD_HOOK_TIMEOUT_MS }, async () => {
    const failed = logged(b, FAILED);
    const reopened = logged(b, REOPENED);
    const [member] = replSet.servers;
    await member!.stop({ doCleanup: false, force: false });
    // The driver's own resume waits WRITE_WAIT_MS (server selection) for the member, then gives up.
    await within(15_000, "true", async () => String(logged(b, FAILED) > failed));
    await restartMongod(member!);
    await within(20_000, String(reopened + 1), async () => String(logged(b, REOPENED)));
    expect(await revokeOnAReachesB()).toBeLessThan(BOUND_MS);
  });

  it("close() leaves no change stream cursor on the server", async () => {
    const storeC = createMongoStore(replSet.getUri(), DATABASE, { client: { appName: "replica-c" } });
    await storeC.init();
    const c = await startTestApp({ store: storeC, closeStore: false, env: { KEYGATE_CHANGE_POLL_INTERVAL_MS: String(POLL_MS) } });
    try {
      await within(10_000, "1", async () => String(await changeStreamCursors(admin.db("admin"), "replica-c")));
      await c.app.close();
      expect(await changeStreamCursors(admin.db("admin"), "replica-c")).toBe(0);
    } finally {
      await storeC.close();
    }
  });
});
