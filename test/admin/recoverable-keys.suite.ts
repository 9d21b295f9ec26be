import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { reencryptSecrets } from "../../src/keys/reencrypt.js";
import { SecretEncryption } from "../../src/crypto/secret-encryption.js";
import { newId } from "../../src/model/ids.js";
import { generateSecret, keyPrefixOf } from "../../src/model/secret.js";
import type { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { aKey } from "../support/records.js";
import { failure, text } from "./answers.js";
import { anOperator, operatorClientFor } from "./clients.js";

const KEY_1 = randomBytes(32);
const KEY_2 = randomBytes(32);
const b64 = (key: Buffer) => key.toString("base64");

/**
 * Recoverable keys through a real server: the secret sealed at creation and on rotation, shown
 * again only to admin:write callers and only on the record, refused clearly otherwise, and the
 * encryption key rotated under running servers with `reencryptSecrets` (keygate reencrypt).
 */
export function describeRecoverableKeys(storeName: string, makeStore: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  describe(`recoverable keys on the ${storeName} store`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let t: TestApp;
    const apps: TestApp[] = [];

    /** Another server on the same store, with these encryption settings. */
    async function server(env: Record<string, string>): Promise<TestApp> {
      const app = await startTestApp({ store, clock: new ManualClock(Date.now()), closeStore: false, env });
      apps.push(app);
      return app;
    }

    beforeAll(async () => {
      const made = await makeStore();
      store = made.store;
      cleanup = made.cleanup;
      t = await server({ KEYGATE_ENCRYPTION_KEY: b64(KEY_1) });
    });

    afterAll(async () => {
      for (const app of apps) await app.close();
      await cleanup?.();
    });

    const reveals = async (keyId: string, client = t.client) =>
      (await client.listAuditEvents({ keyId, pageSize: 100 })).events.filter((e) => e.action === "key.reveal");

    it("shows the very secret CreateKey showed, to admin:write, and audits every showing", async () => {
      const created = await t.client.createKey({ name: "recoverable", scopes: ["machines:read"], recoverable: true });
      expect(created.key!.recoverable).toBe(true);
      const shown = await t.client.getKey({ id: created.key!.id, showKeyValue: true });
      expect(shown.secret).toBe(created.secret);
      expect(shown.key!.recoverable).toBe(true);
      expect((await t.client.getKey({ id: created.key!.id, showKeyValue: true })).secret).toBe(created.secret);
      expect((await t.client.getKey({ id: created.key!.id })).secret).toBe("");
      const events = await reveals(created.key!.id);
      expect(events).toHaveLength(2);
      expect(events[0]).toMatchObject({ actorKeyId: t.admin.key.id, actorUserId: t.admin.owner.id, keyId: created.key!.id });
      expect(text(events)).not.toContain(created.secret.slice(12));
      const stored = await store.keys.findById(t.admin.organization.id, created.key!.id);
      expect(stored?.encryptedSecret).toMatchObject({ version: 1, keyId: new SecretEncryption(KEY_1).currentKeyId });
      expect(JSON.stringify(stored)).not.toContain(created.secret.slice(12));
      expect((await t.client.createKey({ name: "plain", scopes: ["machines:read"] })).key!.recoverable).toBe(false);
    });

    it("keeps a regenerated recoverable key recoverable: the new secret is shown, the old one is gone", async () => {
      const created = await t.client.createKey({ name: "rotating", scopes: ["machines:read"], recoverable: true });
      const rotated = await t.client.regenerateKey({ id: created.key!.id, gracePeriodSeconds: 60 });
      expect(rotated.key!.recoverable).toBe(true);
      expect((await t.client.getKey({ id: created.key!.id, showKeyValue: true })).secret).toBe(rotated.secret);
    });

    it("keeps a recoverable operator key recoverable when RegenerateOperatorKey rotates it, as RegenerateKey does", async () => {
      const platform = await anOperator(t);
      // No RPC makes an operator key recoverable; a store can still hold one.
      const secret = generateSecret("live");
      const id = newId("key");
      const sealing = new SecretEncryption(KEY_1);
      const key = aKey(platform.organization.id, {
        id,
        ownerUserId: platform.owner.id,
        secretHash: t.app.hasher.hash(secret),
        keyPrefix: keyPrefixOf(secret),
        environment: "live",
        scopes: [...platform.key.scopes],
        encryptedSecret: sealing.seal(secret, id),
      });
      expect((await store.keys.create(key, { organizationMax: 1000, userMax: 1000 })).ok).toBe(true);

      const rotated = await operatorClientFor(t, platform.secret).regenerateOperatorKey({ id });
      expect(rotated.key!.recoverable).toBe(true);
      const stored = await store.keys.findById(platform.organization.id, id);
      expect(sealing.open(stored!.encryptedSecret!, id)).toBe(rotated.secret);
    });

    it("refuses show_key_value clearly, and shows and audits nothing", async () => {
      const recoverable = await t.client.createKey({ name: "r", scopes: ["machines:read", "data:export"], recoverable: true });
      const plain = await t.client.createKey({ name: "p", scopes: ["machines:read"] });
      const revoked = await t.client.createKey({ name: "v", scopes: ["machines:read"], recoverable: true });
      await t.client.revokeKey({ id: revoked.key!.id });
      expect((await store.keys.findById(t.admin.organization.id, revoked.key!.id))?.encryptedSecret).toBeUndefined();
      const reader = t.clientFor((await t.client.createKey({ name: "reader", scopes: ["admin:read", "machines:read", "data:export"] })).secret);
      const narrow = t.clientFor((await t.client.createKey({ name: "narrow", scopes: ["admin:write", "machines:read"] })).secret);
      const cases: [() => Promise<unknown>, Code, string][] = [
        [() => reader.getKey({ id: recoverable.key!.id, showKeyValue: true }), Code.PermissionDenied, "PERMISSION_DENIED"],
        [() => narrow.getKey({ id: recoverable.key!.id, showKeyValue: true }), Code.PermissionDenied, "PERMISSION_DENIED"],
        [() => t.client.getKey({ id: plain.key!.id, showKeyValue: true }), Code.FailedPrecondition, "API_KEY_FIELD_INVALID"],
        [() => t.client.getKey({ id: revoked.key!.id, showKeyValue: true }), Code.FailedPrecondition, "API_KEY_FIELD_INVALID"],
      ];
      for (const [call, code, reason] of cases) {
        const refused = await failure(call());
        expect(refused).toMatchObject({ code, reason, field: "show_key_value" });
        expect(refused.message).toContain("show_key_value");
      }
      // The reader may still read the key; it just never sees the secret.
      expect((await reader.getKey({ id: recoverable.key!.id })).secret).toBe("");
      for (const key of [recoverable, plain, revoked]) expect(await reveals(key.key!.id)).toEqual([]);
    });

    it("never writes a secret, a sealed secret or the encryption key to the log", async () => {
      const created = await t.client.createKey({ name: "logged", scopes: ["machines:read"], recoverable: true });
      await t.client.getKey({ id: created.key!.id, showKeyValue: true });
      const sealed = (await store.keys.findById(t.admin.organization.id, created.key!.id))!.encryptedSecret!;
      const log = t.logs.join("");
      expect(log).toContain("keygate.v1.KeyAdminService/GetKey");
      for (const needle of [created.secret.slice(12, 40), sealed.ciphertext.slice(0, 20), b64(KEY_1), KEY_1.toString("base64url")]) {
        expect(log).not.toContain(needle);
      }
    });

    it("without KEYGATE_ENCRYPTION_KEY: recoverable is refused as failed_precondition, and existing ones cannot be shown or regenerated", async () => {
      const created = await t.client.createKey({ name: "sealed elsewhere", scopes: ["machines:read"], recoverable: true });
      const plain = await server({});
      const before = await store.keys.countByState(plain.admin.organization.id);
      const refused = await failure(plain.client.createKey({ name: "x", scopes: ["machines:read"], recoverable: true }));
      expect(refused).toMatchObject({ code: Code.FailedPrecondition, reason: "API_KEY_FIELD_INVALID", field: "recoverable" });
      expect(refused.message).toContain("KEYGATE_ENCRYPTION_KEY");
      expect(await store.keys.countByState(plain.admin.organization.id)).toEqual(before);
      const sameOrganization = plain.clientFor(t.admin.secret);
      expect(await failure(sameOrganization.getKey({ id: created.key!.id, showKeyValue: true }))).toMatchObject({
        code: Code.FailedPrecondition,
        field: "show_key_value",
      });
      expect(await failure(sameOrganization.regenerateKey({ id: created.key!.id }))).toMatchObject({ code: Code.FailedPrecondition, field: "id" });
      expect((await sameOrganization.getKey({ id: created.key!.id })).key!.recoverable).toBe(true);
    });

    it("rotates the encryption key under running servers: both keys open during the rotation, reencrypt moves every secret", async () => {
      const before = [];
      for (let i = 0; i < 3; i++) before.push(await t.client.createKey({ name: `old ${i}`, scopes: ["machines:read"], recoverable: true }));
      const rotating = await server({ KEYGATE_ENCRYPTION_KEY: b64(KEY_2), KEYGATE_ENCRYPTION_KEY_PREVIOUS: b64(KEY_1) });
      const admin = rotating.clientFor(t.admin.secret);
      expect((await admin.getKey({ id: before[0]!.key!.id, showKeyValue: true })).secret).toBe(before[0]!.secret);
      const during = await admin.createKey({ name: "new", scopes: ["machines:read"], recoverable: true });

      const encryption = new SecretEncryption(KEY_2, [KEY_1]);
      const dry = await reencryptSecrets(store, encryption, { dryRun: true, batchSize: 2 });
      expect(dry.pending).toBeGreaterThanOrEqual(3);
      expect(dry.resealed).toBe(0);
      const report = await reencryptSecrets(store, encryption, { batchSize: 2 });
      expect(report).toMatchObject({ resealed: dry.pending, changedMeanwhile: 0, unreadable: [] });
      expect(await reencryptSecrets(store, encryption)).toMatchObject({ resealed: 0, unreadable: [] });

      const after = await server({ KEYGATE_ENCRYPTION_KEY: b64(KEY_2) });
      const newOnly = after.clientFor(t.admin.secret);
      for (const created of [...before, during]) {
        expect((await newOnly.getKey({ id: created.key!.id, showKeyValue: true })).secret).toBe(created.secret);
      }
      // The server that only has the old key can no longer open them, and says why.
      expect(await failure(t.client.getKey({ id: before[0]!.key!.id, showKeyValue: true }))).toMatchObject({
        code: Code.FailedPrecondition,
        field: "show_key_value",
      });

      // A secret sealed under a key nobody configured is reported, and left as it is.
      const stranger = await server({ KEYGATE_ENCRYPTION_KEY: b64(randomBytes(32)) });
      const lost = await stranger.clientFor(t.admin.secret).createKey({ name: "lost", scopes: ["machines:read"], recoverable: true });
      const partial = await reencryptSecrets(store, encryption);
      expect(partial.unreadable.map((u) => u.keyId)).toEqual([lost.key!.id]);
      expect(partial.unreadable[0]!.reason).toContain("does not hold");
    });
  });
}
