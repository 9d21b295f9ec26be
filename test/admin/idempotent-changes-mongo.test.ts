import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IDEMPOTENCY_KEY_HEADER } from "../../src/admin/idempotency-key.js";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";
import type { TestApp } from "../support/app.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { appOnStore } from "./clients.js";
import { describeIdempotentChanges } from "./idempotent-changes.suite.js";

/** Idempotent change RPCs (idempotent-changes.suite.ts) on MongoDB. */
describeIdempotentChanges("MongoDB", freshMongoStore);

describe("idempotency receipts as MongoDB holds them", () => {
  let t: TestApp;
  let fresh: FreshMongoStore;
  appOnStore(
    async () => (fresh = await freshMongoStore()),
    (app) => {
      t = app;
    },
  );

  it("holds an id, the sealed answer and its expiry: no secret, caller, key, organization or idempotency key", async () => {
    const idempotencyKey = randomUUID();
    const { key, secret } = await t.client.createKey({ name: "deploy", scopes: ["machines:read"] }, { headers: { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey } });
    const documents = await fresh.db.collection(COLLECTIONS.receipts).find().toArray();
    expect(documents).toHaveLength(1);
    expect(Object.keys(documents[0]!).sort()).toEqual(["_id", "expiresAt", "sealed"]);
    const raw = JSON.stringify(documents);
    for (const clear of [secret, secret.slice(12), idempotencyKey, key!.id, t.admin.key.id, t.admin.organization.id]) expect(raw).not.toContain(clear);
  });
});
