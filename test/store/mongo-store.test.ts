import { MongoError } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { StoreUnavailableError } from "../../src/store/errors.js";
import { DELETED_KEY_RETENTION_MS } from "../../src/store/deleted-key-repository.js";
import { toDocument } from "../../src/store/mongo/documents.js";
import { COLLECTIONS, createMongoStore } from "../../src/store/mongo/mongo-store.js";
import type { WebhookEndpointDocument } from "../../src/store/mongo/webhook-documents.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aKey } from "../support/records.js";
import { withCounterWriter } from "../support/stored-counters.js";
import { describeStoreContract } from "./contract.js";
import { anEndpoint } from "./contract/webhook-fixtures.js";

describeStoreContract("mongodb", async () => withCounterWriter(await freshMongoStore()));

describe("mongodb store", () => {
  let fresh: FreshMongoStore;

  beforeAll(async () => {
    fresh = await freshMongoStore();
  });

  afterAll(async () => {
    await fresh?.cleanup();
  });

  it("creates the indexes its queries need", async () => {
    const indexes = async (collection: string) =>
      (await fresh.db.collection(collection).indexes()).map(({ key, unique, partialFilterExpression }) => ({
        key,
        ...(unique ? { unique } : {}),
        ...(partialFilterExpression ? { partialFilterExpression } : {}),
      }));
    expect(await indexes(COLLECTIONS.keys)).toEqual([
      { key: { _id: 1 } },
      { key: { secretHash: 1 }, unique: true },
      {
        key: { "previousSecret.hash": 1 },
        unique: true,
        partialFilterExpression: { "previousSecret.hash": { $type: "string" } },
      },
      { key: { organizationId: 1, _id: 1 } },
      { key: { organizationId: 1, name: 1, _id: 1 } },
      { key: { organizationId: 1, isActive: 1, _id: 1 } },
      { key: { organizationId: 1, ownerUserId: 1, _id: 1 } },
      { key: { organizationId: 1, identityId: 1, _id: 1 }, partialFilterExpression: { identityId: { $type: "string" } } },
      { key: { "encryptedSecret.keyId": 1, _id: 1 }, partialFilterExpression: { "encryptedSecret.keyId": { $type: "string" } } },
      { key: { expiresAt: 1, _id: 1 }, partialFilterExpression: { expiresAt: { $type: "date" } } },
    ]);
    expect(await indexes(COLLECTIONS.users)).toEqual([{ key: { _id: 1 } }, { key: { organizationId: 1, _id: 1 } }]);
    expect(await indexes(COLLECTIONS.receipts)).toEqual([{ key: { _id: 1 } }, { key: { expiresAt: 1 } }]);
    expect((await fresh.db.collection(COLLECTIONS.receipts).indexes()).find((index) => index.name === "expires_ttl")?.expireAfterSeconds).toBe(0);
    expect(await indexes(COLLECTIONS.webhookEndpoints)).toEqual([{ key: { _id: 1 } }, { key: { organizationId: 1, _id: 1 } }]);
    expect(await indexes(COLLECTIONS.webhookEvents)).toEqual([{ key: { _id: 1 } }, { key: { forgetAt: 1 } }]);
    expect((await fresh.db.collection(COLLECTIONS.webhookEvents).indexes()).find(({ name }) => name === "forget_ttl")?.expireAfterSeconds).toBe(0);
    expect(await indexes(COLLECTIONS.webhookDeliveries)).toEqual([
      { key: { _id: 1 } },
      { key: { status: 1, nextAttemptAt: 1, _id: 1 } },
      { key: { organizationId: 1, endpointId: 1, _id: 1 } },
      { key: { createdAt: 1 } },
    ]);
    expect((await fresh.db.collection(COLLECTIONS.webhookDeliveries).indexes()).find(({ name }) => name === "created_ttl")?.expireAfterSeconds).toBe(35 * 24 * 60 * 60);
    expect(await indexes(COLLECTIONS.deletedKeys)).toEqual([{ key: { _id: 1 } }, { key: { secretHashes: 1 } }, { key: { deletedAt: 1 } }]);
    expect((await fresh.db.collection(COLLECTIONS.deletedKeys).indexes()).find(({ name }) => name === "deletedAt_ttl")?.expireAfterSeconds).toBe(90 * 24 * 60 * 60);
    expect(await indexes(COLLECTIONS.identities)).toEqual([
      { key: { _id: 1 } },
      { key: { organizationId: 1, externalId: 1 }, unique: true },
      { key: { organizationId: 1, _id: 1 } },
    ]);
    expect(await indexes(COLLECTIONS.audit)).toEqual([
      { key: { _id: 1 } },
      { key: { organizationId: 1, _id: -1 } },
      { key: { organizationId: 1, keyId: 1, _id: -1 } },
      { key: { organizationId: 1, action: 1, _id: -1 } },
      { key: { organizationId: 1, actorUserId: 1, _id: -1 } },
    ]);
  });

  it("remembers a deleted key in the delete's own transaction: a unit that fails keeps the key and remembers nothing", async () => {
    const org = newId("org");
    const key = aKey(org);
    await fresh.store.keys.create(key, { organizationMax: 10, userMax: 10 });
    const failing = fresh.store.atomically(async () => {
      expect(await fresh.store.keys.delete(org, key.id)).not.toBeNull();
      throw new Error("the unit fails after the delete");
    });
    await expect(failing).rejects.toThrow("the unit fails after the delete");
    expect(await fresh.store.keys.findById(org, key.id)).toStrictEqual(key);
    expect(await fresh.store.deletedKeys.findByHash(key.secretHash)).toBeNull();
  });

  it("no longer finds a deleted key past the retention, before the TTL sweep drops it", async () => {
    const org = newId("org");
    const key = aKey(org);
    await fresh.store.keys.create(key, { organizationMax: 10, userMax: 10 });
    await fresh.store.keys.delete(org, key.id);
    expect(await fresh.store.deletedKeys.findByHash(key.secretHash)).toMatchObject({ id: key.id });
    const pastRetention = new Date(Date.now() - DELETED_KEY_RETENTION_MS - 60_000);
    await fresh.db.collection(COLLECTIONS.deletedKeys).updateOne({ _id: key.id as never }, { $set: { deletedAt: pastRetention } });
    expect(await fresh.store.deletedKeys.findByHash(key.secretHash)).toBeNull();
  });

  it("creates every collection in init, so first writes never race to create one", async () => {
    const names = (await fresh.db.listCollections({}, { nameOnly: true }).toArray()).map(({ name }) => name);
    expect(names.sort()).toEqual(Object.values(COLLECTIONS).sort());
  });

  it("keeps the limit when the first writes to a new database are concurrent creates", async () => {
    const empty = await freshMongoStore();
    try {
      const org = newId("org");
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => empty.store.keys.create(aKey(org), { organizationMax: 1, userMax: 1 })),
      );
      expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
      expect(await empty.store.keys.countHoldingSlots(org)).toBe(1);
    } finally {
      await empty.cleanup();
    }
  });

  it("counts an organization's webhook endpoints stored without a counter before bounding them", async () => {
    const org = newId("org");
    const stored = Array.from({ length: 3 }, () => anEndpoint(org));
    await fresh.db.collection<WebhookEndpointDocument>(COLLECTIONS.webhookEndpoints).insertMany(stored.map(toDocument));
    const limits = { maxPerOrganization: 4 };
    const outcomes = await Promise.all([anEndpoint(org), anEndpoint(org)].map((endpoint) => fresh.store.webhooks.createEndpoint(endpoint, limits)));
    expect(outcomes.sort()).toEqual(["created", "limit_reached"]);
    expect(await fresh.db.collection(COLLECTIONS.webhookEndpointCounts).findOne({ _id: org as never })).toEqual({ _id: org, endpoints: 4 });
    expect(await fresh.store.webhooks.deleteEndpoint(org, stored[0]!.id, new Date())).toBe(true);
    expect(await fresh.store.webhooks.createEndpoint(anEndpoint(org), limits)).toBe("created");
  });

  it("init is idempotent", async () => {
    await expect(fresh.store.init()).resolves.toBeUndefined();
  });

  it("stores a key under its id as _id, with BSON dates and explicit nulls", async () => {
    const key = aKey(newId("org"));
    await fresh.store.keys.create(key, { organizationMax: 1, userMax: 1 });
    const raw = await fresh.db.collection(COLLECTIONS.keys).findOne({ _id: key.id as never });
    const { id, ...rest } = key;
    expect(raw).toStrictEqual({ _id: id, ...rest });
    expect(await fresh.db.collection(COLLECTIONS.keys).countDocuments({ _id: id as never, createdAt: { $type: "date" } })).toBe(1);
    expect(await fresh.db.collection(COLLECTIONS.keys).countDocuments({ _id: id as never, revokedAt: { $type: "null" } })).toBe(1);
  });

  it("init fails when an index cannot be built", async () => {
    const broken = await freshMongoStore();
    try {
      // Two keys sharing a secret hash, stored while no unique index guarded them.
      const keys = broken.db.collection(COLLECTIONS.keys);
      await keys.dropIndexes();
      const twin = { organizationId: "org_X", secretHash: "same" };
      await keys.insertMany([{ _id: "key_1" as never, ...twin }, { _id: "key_2" as never, ...twin }]);
      await expect(broken.store.init()).rejects.toThrow(/duplicate key/i);
    } finally {
      await broken.cleanup();
    }
  });

  it("ping and init reject when the server cannot be reached", async () => {
    const unreachable = createMongoStore("mongodb://127.0.0.1:9/", "keygate_unreachable", {
      writeWaitMs: 300,
      client: { connectTimeoutMS: 300 },
    });
    try {
      await expect(unreachable.init()).rejects.toThrow();
      await expect(unreachable.ping()).rejects.toThrow();
    } finally {
      await unreachable.close();
    }
  });

  it("answers an unreachable server with StoreUnavailableError, the driver's error as its cause", async () => {
    const unreachable = createMongoStore("mongodb://127.0.0.1:9/", "keygate_unreachable", {
      writeWaitMs: 300,
      client: { connectTimeoutMS: 300 },
    });
    const calls: [string, () => Promise<unknown>][] = [
      ["ping", () => unreachable.ping()],
      ["keys.findByHash", () => unreachable.keys.findByHash("hash")],
      ["keys.create", () => unreachable.keys.create(aKey(newId("org")), { organizationMax: 1, userMax: 1 })],
      ["organizations.count", () => unreachable.organizations.count()],
      ["users.findById", () => unreachable.users.findById("org_X", "user_X")],
      ["audit.list", () => unreachable.audit.list("org_X", { limit: 1 })],
      ["usage.keyTotals", () => unreachable.usage.keyTotals("org_X", ["key_X"])],
      ["changes.recent", () => unreachable.changes.recent(1_000)],
      ["budgets.lease", () => unreachable.budgets.lease([{ bucket: "b", unit: "minute", limit: 1, holder: "h", windowStartMs: null, held: 0, floor: 0, want: 1 }])],
    ];
    try {
      for (const [name, call] of calls) {
        const error: unknown = await call().then(
          () => undefined,
          (rejection: unknown) => rejection,
        );
        expect(error, name).toBeInstanceOf(StoreUnavailableError);
        expect((error as Error).cause, name).toBeInstanceOf(MongoError);
      }
    } finally {
      await unreachable.close();
    }
  });
});
