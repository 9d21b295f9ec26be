import { randomUUID } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { Code, createClient, type CallOptions } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { CreateKeyResponseSchema, KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { IDEMPOTENCY_KEY_HEADER } from "../../src/admin/idempotency-key.js";
import { RECEIPT_LIFETIME_MS, REPLAYED_HEADER } from "../../src/admin/idempotent-changes.js";
import { ReceiptSealing } from "../../src/crypto/receipt-sealing.js";
import type { ManualClock } from "../../src/time/clock.js";
import { bearer, type TestApp } from "../support/app.js";
import { failure, text } from "./answers.js";
import { anOperator, appOnStore, operatorClientFor, type StoreMaker } from "./clients.js";

const ADMIN = ["admin:read", "admin:write", "machines:read"];

/**
 * Change RPCs with an `idempotency-key` header through a real server: a retry is answered with
 * the first answer and changes nothing; the key is the caller key's own, bound to one request,
 * never stored or logged in the clear, and the answer's secret is unreadable in the store.
 */
export function describeIdempotentChanges(storeName: string, makeStore: StoreMaker) {
  describe(`idempotent changes on the ${storeName} store`, () => {
    let t: TestApp;
    let clock: ManualClock;
    appOnStore(makeStore, (app, appClock) => {
      t = app;
      clock = appClock;
    });

    /** A fresh organization, so its keys and audit entries are the test's own, and its owner's admin client. */
    async function organization() {
      const org = await t.anotherOrganization("pro");
      return { org, owner: t.clientFor(org.secret), keys: async () => (await t.store.keys.countByState(org.organization.id)).total };
    }

    /** Call options sending an idempotency key (a fresh one unless given), with the answer's headers kept. */
    function withKey(idempotencyKey: string = randomUUID()) {
      const answered: Headers[] = [];
      const options: CallOptions = { headers: { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey }, onHeader: (header) => answered.push(header) };
      return { idempotencyKey, options, replayed: () => answered.map((header) => header.get(REPLAYED_HEADER) === "true") };
    }

    /** CreateKey as raw Connect JSON over fetch, to compare answers byte for byte. */
    async function rawCreateKey(secret: string, idempotencyKey: string, body: object): Promise<{ status: number; text: string }> {
      const response = await fetch(`${t.app.url}/keygate.v1.KeyAdminService/CreateKey`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${secret}`, [IDEMPOTENCY_KEY_HEADER]: idempotencyKey },
        body: JSON.stringify(body),
      });
      return { status: response.status, text: await response.text() };
    }

    it("answers a CreateKey retry byte for byte as the first time, with one key made and one audit entry", async () => {
      const { org, keys } = await organization();
      const idempotencyKey = randomUUID();
      const first = await rawCreateKey(org.secret, idempotencyKey, { name: "deploy", scopes: ["machines:read"] });
      expect(first.status).toBe(200);
      const retry = await rawCreateKey(org.secret, idempotencyKey, { name: "deploy", scopes: ["machines:read"] });
      expect(retry).toEqual(first);
      const created = JSON.parse(first.text) as { key: { id: string }; secret: string };
      expect(created.secret).toMatch(/^sk_live_/);
      expect(await keys()).toBe(2);
      const events = await t.store.audit.list(org.organization.id, { keyId: created.key.id, limit: 100 });
      expect(events.map((event) => event.action)).toEqual(["key.create"]);
    });

    it("answers the retry the same over the other protocols (gRPC, gRPC-Web), marking it as replayed", async () => {
      const { org, owner, keys } = await organization();
      const call = withKey();
      const first = await owner.createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
      const options = { baseUrl: t.app.url, interceptors: [bearer(org.secret)] };
      const transports = [createGrpcTransport(options), createGrpcWebTransport({ ...options, httpVersion: "1.1" })];
      for (const transport of transports) {
        const retry = await createClient(KeyAdminService, transport).createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
        expect(toBinary(CreateKeyResponseSchema, retry)).toEqual(toBinary(CreateKeyResponseSchema, first));
        expect(retry.secret).toBe(first.secret);
      }
      expect(call.replayed()).toEqual([false, true, true]);
      expect(await keys()).toBe(2);
    });

    it("answers a DeleteKey or RevokeKey retry as the first call was answered, not not_found or a second revocation", async () => {
      const { owner } = await organization();
      const { key: doomed } = await owner.createKey({ name: "doomed", scopes: ["machines:read"] });
      const deletion = withKey();
      await owner.deleteKey({ id: doomed!.id }, deletion.options);
      await expect(owner.deleteKey({ id: doomed!.id }, deletion.options)).resolves.toBeDefined();
      expect(deletion.replayed()).toEqual([false, true]);
      expect(await failure(owner.deleteKey({ id: doomed!.id }))).toMatchObject({ code: Code.NotFound });

      const { key: revoked } = await owner.createKey({ name: "revoked", scopes: ["machines:read"] });
      const revocation = withKey();
      const first = await owner.revokeKey({ id: revoked!.id, reason: "leaked" }, revocation.options);
      clock.advance(60_000);
      expect(await owner.revokeKey({ id: revoked!.id, reason: "leaked" }, revocation.options)).toEqual(first);
      expect(revocation.replayed()).toEqual([false, true]);
    });

    it("answers the retry of every change RPC with its first answer", async () => {
      const { org, owner } = await organization();
      const operators = operatorClientFor(t, (await anOperator(t)).secret);
      const keyId = async () => (await owner.createKey({ name: "target", scopes: ["machines:read"] })).key!.id;
      const userId = async () => (await owner.addUser({ name: "target" })).user!.id;
      type Call = (options: CallOptions) => Promise<unknown>;
      /** Each change, once its target exists. */
      const changes: [string, () => Promise<Call>][] = [
        ["CreateKey", async () => (options) => owner.createKey({ name: "new", scopes: ["machines:read"] }, options)],
        ["UpdateKey", async () => { const id = await keyId(); return (options) => owner.updateKey({ id, name: "renamed" }, options); }],
        ["RegenerateKey", async () => { const id = await keyId(); return (options) => owner.regenerateKey({ id }, options); }],
        ["RevokeKey", async () => { const id = await keyId(); return (options) => owner.revokeKey({ id }, options); }],
        ["DeleteKey", async () => { const id = await keyId(); return (options) => owner.deleteKey({ id }, options); }],
        ["AddUser", async () => (options) => owner.addUser({ name: "new" }, options)],
        ["UpdateUser", async () => { const id = await userId(); return (options) => owner.updateUser({ id, name: "renamed" }, options); }],
        ["RemoveUser", async () => { const id = await userId(); return (options) => owner.removeUser({ id }, options); }],
        ["CreateOrganization", async () => (options) => operators.createOrganization({ name: "Globex", issueOwnerKey: true }, options)],
        ["SetOrganizationPlan", async () => (options) => operators.setOrganizationPlan({ id: org.organization.id, plan: "free" }, options)],
      ];
      for (const [name, prepare] of changes) {
        const change = await prepare();
        const call = withKey();
        const first = await change(call.options);
        clock.advance(1_000);
        expect(await change(call.options), name).toEqual(first);
        expect(call.replayed(), name).toEqual([false, true]);
      }
    });

    it("refuses the key for another body or method, changing nothing", async () => {
      const { owner, keys } = await organization();
      const call = withKey();
      const { key } = await owner.createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
      const refusals = [
        await failure(owner.createKey({ name: "deploy 2", scopes: ["machines:read"] }, call.options)),
        await failure(owner.revokeKey({ id: key!.id }, call.options)),
      ];
      for (const refusal of refusals) {
        expect(refusal).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field: IDEMPOTENCY_KEY_HEADER });
        expect(refusal.message).toMatch(/already used for another request/);
        expect(refusal.message).not.toContain(call.idempotencyKey);
      }
      expect(await keys()).toBe(2);
      expect((await owner.getKey({ id: key!.id })).key!.revokedAt).toBeUndefined();
    });

    it("keeps each caller key's receipts its own: another key of the organization with the same idempotency key gets its own change", async () => {
      const { owner, keys } = await organization();
      const { secret } = await owner.createKey({ name: "second admin", scopes: ADMIN });
      const call = withKey();
      const mine = await owner.createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
      const theirs = await t.clientFor(secret).createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
      expect(theirs.key!.id).not.toBe(mine.key!.id);
      expect(theirs.secret).not.toBe(mine.secret);
      expect(call.replayed()).toEqual([false, false]);
      expect(await keys()).toBe(4);
    });

    it("makes one key of concurrent duplicates, answering each of them with it", async () => {
      const { owner, keys } = await organization();
      const call = withKey();
      const answers = await Promise.all(Array.from({ length: 5 }, () => owner.createKey({ name: "racing", scopes: ["machines:read"] }, call.options)));
      expect(new Set(answers.map((answer) => answer.secret)).size).toBe(1);
      expect(new Set(answers.map((answer) => answer.key!.id)).size).toBe(1);
      expect(call.replayed().filter((replayed) => !replayed)).toHaveLength(1);
      expect(await keys()).toBe(2);
    });

    it("refuses a malformed idempotency key before changing anything, without quoting it", async () => {
      const { owner, keys } = await organization();
      for (const bad of ["x".repeat(256), "tab\tinside", "caf\u00e9", "\u00a0"]) {
        const refusal = await failure(owner.createKey({ name: "deploy", scopes: ["machines:read"] }, withKey(bad).options));
        expect(refusal, JSON.stringify(bad)).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field: IDEMPOTENCY_KEY_HEADER });
        expect(refusal.message).not.toContain(bad);
      }
      const empty = await failure(owner.createKey({ name: "deploy", scopes: ["machines:read"] }, withKey("").options));
      expect(empty).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field: IDEMPOTENCY_KEY_HEADER });
      expect(await keys()).toBe(1);
    });

    it("changes again on every call without the header, and reads ignore it", async () => {
      const { org, owner, keys } = await organization();
      await owner.createKey({ name: "deploy", scopes: ["machines:read"] });
      await owner.createKey({ name: "deploy", scopes: ["machines:read"] });
      expect(await keys()).toBe(3);
      const read = withKey("caf\u00e9");
      await expect(owner.getKey({ id: org.key.id }, read.options)).resolves.toBeDefined();
      expect(read.replayed()).toEqual([false]);
    });

    it("keeps no refusal: a retry of a refused change is decided afresh", async () => {
      const { owner, keys } = await organization();
      const call = withKey();
      expect(await failure(owner.createKey({ name: "deploy", scopes: ["no:such"] }, call.options))).toMatchObject({ code: Code.InvalidArgument });
      await owner.createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
      expect(call.replayed()).toEqual([false]);
      expect(await keys()).toBe(2);
    });

    it("stores the answer sealed, and never writes or logs the idempotency key or the secret in the clear", async () => {
      const { org, owner } = await organization();
      const call = withKey(`retry-${randomUUID()}`);
      const { key, secret } = await owner.createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
      const id = new ReceiptSealing(t.config.pepper).forRequest(org.key.id, call.idempotencyKey).id;
      const receipt = await t.store.receipts.find(id, new Date(t.clock.now()));
      expect(receipt).not.toBeNull();
      const stored = text(receipt);
      for (const clear of [secret, secret.slice(12), call.idempotencyKey, key!.id, org.key.id, org.organization.id]) expect(stored).not.toContain(clear);
      const audit = text(await t.store.audit.list(org.organization.id, { limit: 100 }));
      const logs = t.logs.join("");
      for (const clear of [call.idempotencyKey, secret]) {
        expect(audit).not.toContain(clear);
        expect(logs).not.toContain(clear);
      }
    });

    // Last: it moves the suite's clock a day on.
    it("forgets a receipt after its lifetime: the same key then makes a new change", async () => {
      const { owner, keys } = await organization();
      const call = withKey();
      const first = await owner.createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
      clock.advance(RECEIPT_LIFETIME_MS);
      const later = await owner.createKey({ name: "deploy", scopes: ["machines:read"] }, call.options);
      expect(later.key!.id).not.toBe(first.key!.id);
      expect(await keys()).toBe(3);
    });
  });
}
