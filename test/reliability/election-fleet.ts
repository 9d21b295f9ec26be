import { MongoClient, type Db } from "mongodb";
import { UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import { loadConfig } from "../../src/config/config.js";
import { openStore } from "../../src/store/open-store.js";
import type { Store } from "../../src/store/store.js";
import { systemClock } from "../../src/time/clock.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { ThreeMemberReplicaSet } from "../support/replica-set.js";

/**
 * Two keygate replicas, A and B, on a three-member replica set, each with its own MongoDB client
 * opened the way production opens it (openStore with the replica's settings), on the real clock:
 * cache lifetimes, the change feed and the read deadline all run as deployed. A's organization
 * has three users owning keys, so the per-user slot counters are exercised too.
 */

/** KEYGATE_STORE_READ_TIMEOUT_MS, the default, set explicitly since the suite's bound derives from it. */
export const READ_TIMEOUT_MS = 3_000;

const DATABASE = "keygate_elections";

/** A key the suite created through A, with what a Check needs and what the data should say. */
export interface KeyFixture {
  id: string;
  secret: string;
  /** Its secret hash (the same on both replicas: one pepper). */
  hash: string;
  name: string;
  ownerUserId: string;
}

export interface ElectionFleet {
  set: ThreeMemberReplicaSet;
  a: TestApp;
  b: TestApp;
  /** The suite's own view of the data: majority reads, on a client that neither replica uses. */
  data: Db;
  /** The users of A's organization that keys are spread over: the owner and two members. */
  owners: string[];
  /** `count` new keys through A's KeyAdminService, owners taken in turn; names start with `label`. */
  createKeys(label: string, count: number): Promise<KeyFixture[]>;
  close(): Promise<void>;
}

const ENV = {
  KEYGATE_STORE_READ_TIMEOUT_MS: String(READ_TIMEOUT_MS),
  // The suite's own request rates must not be what refuses its calls.
  KEYGATE_ADMIN_REQUESTS_PER_MINUTE: "0",
  KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: "0",
};
const PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";
const CREATE_CONCURRENCY = 8;

async function replica(uri: string): Promise<{ app: TestApp; store: Store }> {
  const env = { ...ENV, KEYGATE_PEPPER: PEPPER };
  const store = await openStore(loadConfig({ ...env, MONGODB_URI: uri, MONGODB_DB: DATABASE }));
  const app = await startTestApp({ store, closeStore: false, clock: systemClock, plan: "enterprise", env });
  return { app, store };
}

export async function startElectionFleet(): Promise<ElectionFleet> {
  const set = await ThreeMemberReplicaSet.start();
  await set.waitForPrimary(60_000);
  const observer = new MongoClient(set.uri, { readConcern: { level: "majority" }, serverSelectionTimeoutMS: 60_000 });
  const a = await replica(set.uri);
  const b = await replica(set.uri);
  const admin = a.app.client;
  const members = await Promise.all(
    ["Mo", "Max"].map(async (name) => (await admin.addUser({ name, role: UserRole.MEMBER })).user!.id),
  );
  const owners = [a.app.admin.owner.id, ...members];

  let created = 0;
  const createKey = async (label: string): Promise<KeyFixture> => {
    const n = created++;
    const ownerUserId = owners[n % owners.length]!;
    const name = `${label}-${n}`;
    const { key, secret } = await admin.createKey({ name, scopes: ["machines:read"], ownerUserId });
    return { id: key!.id, secret, hash: a.app.app.hasher.hash(secret), name, ownerUserId };
  };
  return {
    set,
    a: a.app,
    b: b.app,
    data: observer.db(DATABASE),
    owners,
    async createKeys(label, count) {
      const keys: KeyFixture[] = [];
      for (let i = 0; i < count; i += CREATE_CONCURRENCY) {
        const batch = Math.min(CREATE_CONCURRENCY, count - i);
        keys.push(...(await Promise.all(Array.from({ length: batch }, () => createKey(label)))));
      }
      return keys;
    },
    async close() {
      for (const { app, store } of [a, b]) {
        await app.close();
        await store.close();
      }
      await observer.close();
      await set.stop();
    },
  };
}
