import type { CommandStartedEvent, Document } from "mongodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import type { KeyRecord } from "../../src/model/records.js";
import { StoreUnavailableError } from "../../src/store/errors.js";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aKey, hash, T0 } from "../support/records.js";

/**
 * Cold keys on MongoDB: lookups by hash made together reach the server as one `find` per batch
 * (keys-by-hash.ts), counted here with the driver's command monitoring.
 */
const ROOMY = { organizationMax: 1_000, userMax: 1_000 };
const GRACE_END = new Date("2099-01-01T00:00:00.000Z");

describe("MongoDB cold keys, looked up in batches", () => {
  let fresh: FreshMongoStore;
  let finds: Document[] = [];
  const keys: KeyRecord[] = [];
  let rotated: { key: KeyRecord; previousHash: string };

  beforeAll(async () => {
    fresh = await freshMongoStore(undefined, { monitorCommands: true });
    fresh.db.client.on("commandStarted", (event: CommandStartedEvent) => {
      if (event.commandName === "find" && event.command["find"] === COLLECTIONS.keys) finds.push(event.command);
    });
    const org = newId("org");
    for (let i = 0; i < 12; i++) {
      const created = await fresh.store.keys.create(aKey(org), ROOMY);
      if (created.ok) keys.push(created.key);
    }
    const first = keys.shift()!;
    const next = { secretHash: hash(), keyPrefix: "sk_test_next", previousSecretExpiresAt: GRACE_END, updatedAt: T0 };
    rotated = { key: (await fresh.store.keys.replaceSecret(org, first.id, next))!, previousHash: first.secretHash };
  });

  afterAll(async () => {
    await fresh?.cleanup();
  });

  beforeEach(() => {
    finds = [];
  });

  it("lookups of different hashes made together cost one find, each caller getting its own key or null", async () => {
    const unknown = [hash(), hash(), hash()];
    const asked = [...keys.map((key) => key.secretHash), rotated.key.secretHash, rotated.previousHash, ...unknown];
    const answers = await Promise.all(asked.map((secretHash) => fresh.store.keys.findByHash(secretHash)));
    expect(answers).toStrictEqual([...keys, rotated.key, rotated.key, null, null, null]);
    expect(finds).toHaveLength(1);
  });

  it("a burst larger than a batch goes out in batches of at most 100 hashes", async () => {
    const asked = [...keys.map((key) => key.secretHash), ...Array.from({ length: 239 }, hash)];
    const answers = await Promise.all(asked.map((secretHash) => fresh.store.keys.findByHash(secretHash)));
    expect(answers.slice(0, keys.length)).toStrictEqual(keys);
    expect(answers.slice(keys.length).every((answer) => answer === null)).toBe(true);
    expect(finds).toHaveLength(3);
    const hashesIn = (find: Document) => (find["filter"] as { $or: { secretHash?: { $in: string[] } }[] }).$or[0]!.secretHash!.$in;
    expect(finds.map((find) => hashesIn(find).length)).toEqual([100, 100, 50]);
  });

  it("the same hash asked twice at once is asked once, and both callers get the key", async () => {
    const [a, b] = await Promise.all([fresh.store.keys.findByHash(rotated.previousHash), fresh.store.keys.findByHash(rotated.previousHash)]);
    expect(a).toStrictEqual(rotated.key);
    expect(b).toStrictEqual(rotated.key);
    expect(b).not.toBe(a);
    expect(finds).toHaveLength(1);
  });

  it("reads as Check reads: a secondary while there is no primary, within the read deadline", async () => {
    await fresh.store.keys.findByHash(keys[0]!.secretHash);
    expect(finds[0]).toMatchObject({ maxTimeMS: 3_000, $readPreference: { mode: "primaryPreferred" } });
  });

  it("inside a unit of work a lookup reads the unit's own writes", async () => {
    const key = aKey(newId("org"));
    const found = await fresh.store.atomically(async () => {
      await fresh.store.keys.create(key, ROOMY);
      return fresh.store.keys.findByHash(key.secretHash);
    });
    expect(found).toStrictEqual(key);
  });

  it("a failed batch fails every caller in it (here: its client is closed)", async () => {
    const closing = await freshMongoStore();
    await closing.cleanup();
    const outcomes = await Promise.allSettled([hash(), keys[0]!.secretHash, hash()].map((secretHash) => closing.store.keys.findByHash(secretHash)));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    }
  });
});
