import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { KeyType, UserRole, type ApiKey } from "../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../src/model/ids.js";
import type { WebhookEvent } from "../../src/model/webhooks.js";
import type { BootstrapResult } from "../../src/tenancy/bootstrap.js";
import type { ManualClock } from "../../src/time/clock.js";
import type { TestApp } from "../support/app.js";
import { aKey } from "../support/records.js";
import { failure } from "./answers.js";
import { anOperator, appOnStore, operatorClientFor, type StoreMaker } from "./clients.js";
import { WatchedOutbox } from "./key-change-events-outbox.js";

/** What an event carries of a key: its public fields, and nothing else (no secret, no hash). */
const PUBLIC_KEY_FIELDS = [
  "id",
  "organization_id",
  "name",
  "description",
  "key_prefix",
  "environment",
  "key_type",
  "owner_user_id",
  "scopes",
  "allow_ips",
  "rate_limit",
  "is_active",
  "revoked_at",
  "expires_at",
  "previous_secret_expires_at",
  "limits",
  "credits",
  "identity_id",
  "created_at",
  "updated_at",
].sort();

interface EventBody {
  type: string;
  data: { key?: Record<string, unknown>; user?: Record<string, unknown>; actor?: { key_id: string; user_id: string }; reason?: string };
}

const bodyOf = (event: WebhookEvent): EventBody => JSON.parse(event.payload) as EventBody;
const iso = (timestamp: ApiKey["revokedAt"]): string | null => (timestamp ? timestampDate(timestamp).toISOString() : null);

/**
 * The webhook events of the admin API's changes, through a real server: each change queues
 * exactly its event, in its unit of work, with the key's public fields and the caller as actor;
 * a refused or idle call queues none; and, on a store whose failed units write nothing
 * (`undoesFailedUnits`), an outbox that cannot be written undoes the change.
 */
export function describeKeyChangeEvents(storeName: string, makeStore: StoreMaker, { undoesFailedUnits }: { undoesFailedUnits: boolean }) {
  describe(`key change events on the ${storeName} store`, () => {
    let t: TestApp;
    let outbox: WatchedOutbox;
    let clock: ManualClock;
    appOnStore(
      async () => {
        const made = await makeStore();
        outbox = new WatchedOutbox(made.store);
        return { store: outbox.store, cleanup: made.cleanup };
      },
      (app, appClock) => {
        t = app;
        clock = appClock;
      },
    );

    /** A fresh organization, its owner's client, and the actor its events name. */
    async function organization(): Promise<{ org: BootstrapResult; owner: ReturnType<TestApp["clientFor"]>; actor: { key_id: string; user_id: string } }> {
      const org = await t.anotherOrganization("pro");
      outbox.take();
      return { org, owner: t.clientFor(org.secret), actor: { key_id: org.key.id, user_id: org.owner.id } };
    }

    /** The event is of `type` about `key` as the API answers it, by `actor`, and shows nothing of its secrets. */
    async function expectKeyEvent(event: WebhookEvent, type: string, key: ApiKey, actor: { key_id: string; user_id: string }, secrets: string[] = []) {
      const body = bodyOf(event);
      expect(event).toMatchObject({ type, organizationId: key.organizationId });
      expect(body.type).toBe(type);
      expect(Object.keys(body.data.key!).sort()).toEqual(PUBLIC_KEY_FIELDS);
      expect(body.data.key).toMatchObject({
        id: key.id,
        organization_id: key.organizationId,
        name: key.name,
        key_prefix: key.keyPrefix,
        owner_user_id: key.ownerUserId,
        scopes: key.scopes,
        is_active: key.isActive,
        revoked_at: iso(key.revokedAt),
        expires_at: iso(key.expiresAt),
        previous_secret_expires_at: iso(key.previousSecretExpiresAt),
      });
      expect(body.data.actor).toEqual(actor);
      const stored = await t.store.keys.findById(key.organizationId, key.id);
      for (const secret of [...secrets.map((s) => s.slice(12)), ...(stored ? [stored.secretHash] : [])]) expect(event.payload).not.toContain(secret);
    }

    it("CreateKey queues key.created with the new key; a refused CreateKey queues nothing", async () => {
      const { owner, actor } = await organization();
      const { key, secret } = await owner.createKey({ name: "ci deploy", scopes: ["machines:read"] });
      const [created, ...more] = outbox.take();
      expect(more).toEqual([]);
      await expectKeyEvent(created!, "key.created", key!, actor, [secret]);

      expect(await failure(owner.createKey({ name: "bad", scopes: ["no:such"] }))).toMatchObject({ code: Code.InvalidArgument });
      expect(outbox.take()).toEqual([]);
    });

    it("UpdateKey queues key.updated when the key changed; the same values again, or a refusal, queue nothing", async () => {
      const { owner, actor } = await organization();
      const { key } = await owner.createKey({ name: "before", scopes: ["machines:read"] });
      outbox.take();
      const { key: renamed } = await owner.updateKey({ id: key!.id, name: "after", scopes: { values: ["machines:read", "tags:read"] } });
      const [updated, ...more] = outbox.take();
      expect(more).toEqual([]);
      await expectKeyEvent(updated!, "key.updated", renamed!, actor);
      expect(bodyOf(updated!).data.key).toMatchObject({ name: "after", scopes: ["machines:read", "tags:read"] });

      await owner.updateKey({ id: key!.id, name: "after" });
      expect(outbox.take()).toEqual([]);
      expect(await failure(owner.updateKey({ id: key!.id, scopes: { values: ["no:such"] } }))).toMatchObject({ code: Code.InvalidArgument });
      expect(outbox.take()).toEqual([]);
    });

    it("RegenerateKey queues key.rotated with the new prefix and neither secret", async () => {
      const { owner, actor } = await organization();
      const { key, secret } = await owner.createKey({ name: "rotating", scopes: ["machines:read"] });
      outbox.take();
      const rotated = await owner.regenerateKey({ id: key!.id, gracePeriodSeconds: 60 });
      const [event, ...more] = outbox.take();
      expect(more).toEqual([]);
      await expectKeyEvent(event!, "key.rotated", rotated.key!, actor, [secret, rotated.secret]);
      expect(bodyOf(event!).data.key!["key_prefix"]).toBe(rotated.secret.slice(0, 12));
      // Until when the replaced secret still works: what a receiver needs to finish the switch.
      expect(bodyOf(event!).data.key!["previous_secret_expires_at"]).toBe(iso(rotated.key!.previousSecretExpiresAt));
      expect(bodyOf(event!).data.key!["previous_secret_expires_at"]).not.toBeNull();
    });

    it("RevokeKey queues key.revoked once: revoking it again, or a refused revocation, queues nothing", async () => {
      const { owner, actor } = await organization();
      const { key } = await owner.createKey({ name: "leaving", scopes: ["machines:read"] });
      const { user: member } = await owner.addUser({ name: "Mo", role: UserRole.MEMBER });
      const { secret: memberSecret } = await owner.createKey({ name: "mo admin key", scopes: ["admin:read", "admin:write", "machines:read"], ownerUserId: member!.id });
      outbox.take();

      expect(await failure(t.clientFor(memberSecret).revokeKey({ id: key!.id }))).toMatchObject({ code: Code.PermissionDenied });
      expect(outbox.take()).toEqual([]);
      const { key: revoked } = await owner.revokeKey({ id: key!.id, reason: "left the team" });
      const [event, ...more] = outbox.take();
      expect(more).toEqual([]);
      await expectKeyEvent(event!, "key.revoked", revoked!, actor);
      expect(bodyOf(event!).data.key!["revoked_at"]).not.toBeNull();
      expect(bodyOf(event!).data.reason).toBe("left the team");

      clock.advance(1000);
      await owner.revokeKey({ id: key!.id, reason: "again" });
      expect(outbox.take()).toEqual([]);
    });

    it("DeleteKey queues key.deleted with the key as it was; deleting a missing key queues nothing", async () => {
      const { owner, actor } = await organization();
      const { key } = await owner.createKey({ name: "doomed", scopes: ["machines:read"] });
      outbox.take();
      await owner.deleteKey({ id: key!.id });
      const [event, ...more] = outbox.take();
      expect(more).toEqual([]);
      await expectKeyEvent(event!, "key.deleted", key!, actor);
      expect(await failure(owner.deleteKey({ id: key!.id }))).toMatchObject({ code: Code.NotFound });
      expect(outbox.take()).toEqual([]);
    });

    it("narrowing a user's limits queues key.updated for each key it changed, and only those", async () => {
      const { owner, actor } = await organization();
      const { user } = await owner.addUser({ name: "Nel" });
      const { key: wide } = await owner.createKey({ name: "wide", scopes: ["machines:read", "tags:read"], ownerUserId: user!.id });
      await owner.createKey({ name: "narrow", scopes: ["machines:read"], ownerUserId: user!.id });
      outbox.take();
      await owner.updateUser({ id: user!.id, limits: { availableScopes: { values: ["machines:read"] } } });
      const events = outbox.take();
      expect(events.map((e) => [e.type, bodyOf(e).data.key!["id"]])).toEqual([["key.updated", wide!.id]]);
      const { key: bounded } = await owner.getKey({ id: wide!.id });
      await expectKeyEvent(events[0]!, "key.updated", bounded!, actor);
      expect(bounded!.scopes).toEqual(["machines:read"]);
    });

    it("RemoveUser queues user.removed with the user's public fields, then key.updated for each key the removal changed", async () => {
      const { org, owner, actor } = await organization();
      const { user } = await owner.addUser({ name: "Quinn", role: UserRole.ADMIN });
      const { key: own } = await owner.createKey({ name: "quinn key", scopes: ["machines:read"], ownerUserId: user!.id });
      const { key: shared } = await owner.createKey({ name: "team key", scopes: ["machines:read"], ownerUserId: user!.id, keyType: KeyType.SHARED });
      outbox.take();

      await owner.removeUser({ id: user!.id });
      const [removed, ...keyEvents] = outbox.take();
      expect(removed!.type).toBe("user.removed");
      expect(bodyOf(removed!).data).toEqual({
        user: { id: user!.id, organization_id: org.organization.id, name: "Quinn", role: "admin", created_at: timestampDate(user!.createdAt!).toISOString() },
        actor,
      });
      expect(keyEvents.map((e) => e.type)).toEqual(["key.updated", "key.updated"]);
      const [disabled, transferred] = await Promise.all([owner.getKey({ id: own!.id }), owner.getKey({ id: shared!.id })]);
      await expectKeyEvent(keyEvents[0]!, "key.updated", disabled.key!, actor);
      await expectKeyEvent(keyEvents[1]!, "key.updated", transferred.key!, actor);
      expect(bodyOf(keyEvents[0]!).data.key).toMatchObject({ is_active: false });
      expect(bodyOf(keyEvents[1]!).data.key).toMatchObject({ owner_user_id: org.owner.id });

      // Asked again, nothing is left to change, and nothing more is told.
      expect(await failure(owner.removeUser({ id: user!.id }))).toMatchObject({ code: Code.InvalidArgument });
      expect(outbox.take()).toEqual([]);
    });

    it("an operator's rotation and revocation of an operator key queue key.rotated and key.revoked, the operator as actor", async () => {
      const platform = await anOperator(t);
      // A second operator key, as only the database (or bootstrap) makes one.
      const created = await t.store.keys.create(
        aKey(platform.organization.id, { ownerUserId: platform.owner.id, scopes: [...platform.key.scopes], rateLimit: platform.key.rateLimit, environment: "live" }),
        { organizationMax: 1000, userMax: 1000 },
      );
      if (!created.ok) throw new Error(created.reason);
      const second = created.key;
      outbox.take();
      const api = operatorClientFor(t, platform.secret);
      const actor = { key_id: platform.key.id, user_id: platform.owner.id };

      const rotated = await api.regenerateOperatorKey({ id: second.id });
      const [rotation] = outbox.take();
      await expectKeyEvent(rotation!, "key.rotated", rotated.key!, actor, [rotated.secret]);
      const { key: revoked } = await api.revokeOperatorKey({ id: second.id, reason: "laptop stolen" });
      const [revocation, ...more] = outbox.take();
      expect(more).toEqual([]);
      await expectKeyEvent(revocation!, "key.revoked", revoked!, actor);
    });

    it("the event reaches the store's own outbox: an endpoint taking key events has it to deliver, with the same body", async () => {
      const { org, owner } = await organization();
      const { key } = await owner.createKey({ name: "watched", scopes: ["machines:read"] });
      const now = new Date(clock.now());
      const endpoint = {
        id: newId("whe", now.getTime()),
        organizationId: org.organization.id,
        url: "https://hooks.example.com/keygate",
        eventTypes: ["key.revoked" as const],
        description: "",
        enabled: true,
        disabledReason: "",
        secret: { nonce: "bm9uY2U=", ciphertext: "c2VhbGVk" },
        failingSince: null,
        createdAt: now,
        updatedAt: now,
      };
      await t.store.webhooks.createEndpoint(endpoint, { maxPerOrganization: 20 });
      outbox.take();
      await owner.revokeKey({ id: key!.id, reason: "watched" });
      const [event] = outbox.take();
      const deliveries = await t.store.webhooks.listDeliveries(org.organization.id, endpoint.id, { limit: 10 });
      expect(deliveries.map((d) => [d.eventId, d.eventType, d.status, d.payload])).toEqual([[event!.id, "key.revoked", "pending", event!.payload]]);
    });

    it.runIf(undoesFailedUnits)("an outbox that cannot be written undoes the change: the revocation, creation and removal do not happen", async () => {
      const { org, owner } = await organization();
      const { key } = await owner.createKey({ name: "kept", scopes: ["machines:read"] });
      const { user } = await owner.addUser({ name: "Stays" });
      outbox.take();
      const keysBefore = await t.store.keys.countByState(org.organization.id);
      outbox.failing = true;
      try {
        expect(await failure(owner.revokeKey({ id: key!.id, reason: "never" }))).toMatchObject({ code: Code.Internal });
        expect(await failure(owner.createKey({ name: "never", scopes: ["machines:read"] }))).toMatchObject({ code: Code.Internal });
        expect(await failure(owner.removeUser({ id: user!.id }))).toMatchObject({ code: Code.Internal });
      } finally {
        outbox.failing = false;
      }
      expect((await t.store.keys.findById(org.organization.id, key!.id))!.revokedAt).toBeNull();
      expect(await t.store.keys.countByState(org.organization.id)).toEqual(keysBefore);
      expect(await t.store.users.findById(org.organization.id, user!.id)).not.toBeNull();
      expect(outbox.take()).toEqual([]);
      // Not audited either: the audit entry follows the change that committed.
      expect((await t.store.audit.list(org.organization.id, { limit: 100 })).map((e) => e.action)).not.toContain("key.revoke");

      // With the outbox back, the same revocation happens, and is told once.
      await owner.revokeKey({ id: key!.id, reason: "now" });
      expect(outbox.take().map((e) => e.type)).toEqual(["key.revoked"]);
    });
  });
}
