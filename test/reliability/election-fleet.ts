import type { Client } from "@connectrpc/connect";
import { MongoClient, type Db } from "mongodb";
import { UserRole, type KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { loadConfig } from "../../src/config/config.js";
import { openStore } from "../../src/store/open-store.js";
import type { Store } from "../../src/store/store.js";
import { systemClock } from "../../src/time/clock.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { ThreeMemberReplicaSet } from "../support/replica-set.js";

/**
 * Two keygate replicas, A and B, on a three-member replica set, each with its own MongoDB client
 * opened the way production opens it (openStore with the replica's settings), on the real clock:
 * cache lifetimes, the change feed and the read deadline all run as deployed. The suite's
 * organizations have three users owning keys, so the per-user slot counters are exercised too.
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

/**
 * An organization of the suite's, on the enterprise plan (no key limit in the way), managed
 * through A. Each scenario has its own, so what its writes did to the slot counters is its own.
 */
export interface Tenant {
  organizationId: string;
  /** A's KeyAdminService, as the organization's owner. */
  client: Client<typeof KeyAdminService>;
  /** The users keys are spread over: the owner and two members. */
  owners: string[];
  /** `count` new keys, owners taken in turn; names start with `label`. */
  createKeys(label: string, count: number): Promise<KeyFixture[]>;
}

export interface ElectionFleet {
  set: ThreeMemberReplicaSet;
  a: TestApp;
  b: TestApp;
  /** The suite's own view of the data: majority reads, on a client that neither replica uses. */
  data: Db;
  tenant(): Promise<Tenant>;
  close(): Promise<void>;
}

const ENV = {
  KEYGATE_STORE_READ_TIMEOUT_MS: String(READ_TIMEOUT_MS),
  // The suite's own request rates must not be what refuses its calls.
  KEYGATE_ADMIN_REQUESTS_PER_MINUTE: "0",
  KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: "0",
};
const PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";
const CREATE_CONCURRENCY = 4;

/** The MongoDB client name of replica B's store, for the replica set's fail points. */
export const B_APP_NAME = "keygate-b";

/** A keygate replica of the fleet's, with the MongoDB client it alone uses. */
export interface FleetReplica {
  app: TestApp;
  close(): Promise<void>;
}

/**
 * A keygate replica on the set's database, opened as A and B are; `env` adds to (or overrides)
 * the suite's settings, for a replica that runs with other ones. Close it before the fleet.
 */
export async function startFleetReplica(uri: string, appName: string, env: Record<string, string> = {}): Promise<FleetReplica> {
  const settings = { ...ENV, ...env, KEYGATE_PEPPER: PEPPER };
  // A connection string naming several hosts is not a URL that URL can parse.
  const named = `${uri}${uri.includes("?") ? "&" : "?"}appName=${appName}`;
  const store: Store = await openStore(loadConfig({ ...settings, MONGODB_URI: named, MONGODB_DB: DATABASE }));
  const app = await startTestApp({ store, closeStore: false, clock: systemClock, plan: "enterprise", env: settings });
  return {
    app,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

async function tenantOn(a: TestApp): Promise<Tenant> {
  const admin = await a.anotherOrganization("enterprise");
  const client = a.clientFor(admin.secret);
  const members = await Promise.all(["Mo", "Max"].map(async (name) => (await client.addUser({ name, role: UserRole.MEMBER })).user!.id));
  const owners = [admin.owner.id, ...members];
  let created = 0;
  const createKey = async (label: string): Promise<KeyFixture> => {
    const n = created++;
    const ownerUserId = owners[n % owners.length]!;
    const name = `${label}-${n}`;
    const { key, secret } = await client.createKey({ name, scopes: ["machines:read"], ownerUserId });
    return { id: key!.id, secret, hash: a.app.hasher.hash(secret), name, ownerUserId };
  };
  return {
    organizationId: admin.organization.id,
    client,
    owners,
    async createKeys(label, count) {
      const keys: KeyFixture[] = [];
      for (let i = 0; i < count; i += CREATE_CONCURRENCY) {
        const batch = Math.min(CREATE_CONCURRENCY, count - i);
        keys.push(...(await Promise.all(Array.from({ length: batch }, () => createKey(label)))));
      }
      return keys;
    },
  };
}

/** `env`: settings of A and B beyond the suite's own. */
export async function startElectionFleet(env: Record<string, string> = {}): Promise<ElectionFleet> {
  const set = await ThreeMemberReplicaSet.start();
  await set.waitForPrimary(60_000);
  const observer = new MongoClient(set.uri, { readConcern: { level: "majority" }, serverSelectionTimeoutMS: 60_000 });
  const a = await startFleetReplica(set.uri, "keygate-a", env);
  const b = await startFleetReplica(set.uri, B_APP_NAME, env);
  return {
    set,
    a: a.app,
    b: b.app,
    data: observer.db(DATABASE),
    tenant: () => tenantOn(a.app),
    async close() {
      for (const replica of [a, b]) await replica.close();
      await observer.close();
      await set.stop();
    },
  };
}
