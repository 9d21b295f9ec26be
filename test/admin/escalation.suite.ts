import { describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, type Client } from "@connectrpc/connect";
import { RateLimitPeriod, UserRole, type KeyAdminService, type UserLimitsSchema } from "../../gen/keygate/v1/key_admin_pb.js";
import type { ManualClock } from "../../src/time/clock.js";
import type { TestApp } from "../support/app.js";
import { failure } from "./answers.js";
import { appOnStore, anOperator, checkerFor, type StoreMaker } from "./clients.js";
import { changingAfterRead } from "./key-changed-after-read.js";

type AdminClient = Client<typeof KeyAdminService>;
const ADMIN = ["admin:read", "admin:write", "machines:read"];
const DENIED = { code: Code.PermissionDenied, reason: "PERMISSION_DENIED" };

/**
 * Issue 12's reproductions of privilege escalation inside one organization, through a real
 * server: each attack is refused, changes nothing, and is on the record; and a capped user's keys
 * stay within their cap, also when the cap is lowered later.
 */
export function describeEscalation(storeName: string, makeStore: StoreMaker) {
  describe(`escalation inside an organization on the ${storeName} store`, () => {
    let t: TestApp;
    let clock: ManualClock;
    let check: (secret: string) => Promise<string>;
    // Section 6 lands other callers' writes between a handler's read and its write; unarmed, the store is as made.
    const { makeStore: makeRacedStore, race } = changingAfterRead(makeStore);
    appOnStore(makeRacedStore, (app, manualClock) => {
      t = app;
      clock = manualClock;
      check = checkerFor(t);
    });

    /** A fresh organization and its owner, acting through the bootstrap key (every scope). */
    async function organization() {
      const org = await t.anotherOrganization("pro");
      return { org, owner: t.clientFor(org.secret) };
    }

    /** A user of the role with an admin key of their own (made by the owner), acting through it. */
    async function actingAs(owner: AdminClient, role: UserRole, limits?: MessageInitShape<typeof UserLimitsSchema>, scopes = ADMIN) {
      const { user } = await owner.addUser({ name: `a ${UserRole[role].toLowerCase()}`, role, limits });
      const { secret, key } = await owner.createKey({ name: "their admin key", scopes, ownerUserId: user!.id });
      return { user: user!, key: key!, secret, client: t.clientFor(secret) };
    }

    /** The refusals the audit log holds: of calls on a key, or (keyId "") of a caller's calls on none. */
    const refusals = async (owner: AdminClient, on: { keyId: string } | { actorKeyId: string }) =>
      (await owner.listAuditEvents({ pageSize: 1000 })).events
        .filter((e) => e.action === "auth.failed" && ("keyId" in on ? e.keyId === on.keyId : e.actorKeyId === on.actorKeyId && e.keyId === ""))
        .map((e) => [e.details["method"], e.details["reason"]]);

    describe("1: acting on a broader key", () => {
      it("refuses a member's admin:write key regenerating the owner's broader key; the owner's secret keeps working", async () => {
        const { org, owner } = await organization();
        const member = await actingAs(owner, UserRole.MEMBER);
        const before = (await owner.getKey({ id: org.key.id })).key!;

        expect(await failure(member.client.regenerateKey({ id: org.key.id }))).toMatchObject({ ...DENIED, field: "id" });

        expect((await owner.getKey({ id: org.key.id })).key).toEqual(before);
        expect((await owner.testKey({ apiKey: org.secret })).valid).toBe(true);
        expect(await refusals(owner, { keyId: org.key.id })).toEqual([["RegenerateKey", "KEY_SCOPES_NOT_HELD"]]);
      });

      it("in the platform organization, refuses a second admin:write key regenerating the operator key", async () => {
        const operator = await anOperator(t);
        const operatorKeys = t.clientFor(operator.secret);
        const second = await operatorKeys.createKey({ name: "ci", scopes: ["admin:write"] });
        const before = (await operatorKeys.getKey({ id: operator.key.id })).key!;

        const refused = await failure(t.clientFor(second.secret).regenerateKey({ id: operator.key.id }));
        expect(refused).toMatchObject({ ...DENIED, field: "id" });

        expect((await operatorKeys.getKey({ id: operator.key.id })).key).toEqual(before);
        expect((await operatorKeys.testKey({ apiKey: operator.secret })).valid).toBe(true);
        // And the second key is still nobody's operator.
        const tenant = await t.anotherOrganization();
        expect(await failure(t.clientFor(second.secret).listKeys({ organizationId: tenant.organization.id }))).toMatchObject(DENIED);
      });
    });

    describe("2: a member acting as the owner", () => {
      it("refuses a member creating a key owned by the owner, and writes nothing", async () => {
        const { org, owner } = await organization();
        const member = await actingAs(owner, UserRole.MEMBER);
        const before = await t.store.keys.countByState(org.organization.id);

        const refused = await failure(member.client.createKey({ name: "mine, says the owner", scopes: ["machines:read"], ownerUserId: org.owner.id }));
        expect(refused).toMatchObject({ ...DENIED, field: "owner_user_id" });

        expect(await t.store.keys.countByState(org.organization.id)).toEqual(before);
        expect(await refusals(owner, { actorKeyId: member.key.id })).toEqual([["CreateKey", "OWNER_NOT_NAMEABLE"]]);
        // The promotion that followed in the attack stays refused too.
        expect(await failure(member.client.updateUser({ id: member.user.id, role: UserRole.OWNER }))).toMatchObject(DENIED);
      });

      it("refuses a member updating, revoking or deleting the owner's key, and changes nothing", async () => {
        const { org, owner } = await organization();
        const member = await actingAs(owner, UserRole.MEMBER);
        const { key: target, secret } = await owner.createKey({ name: "the owner narrow key", scopes: ["machines:read"] });
        for (const call of [
          () => member.client.updateKey({ id: target!.id, name: "taken" }),
          () => member.client.updateKey({ id: target!.id, ownerUserId: member.user.id }),
          () => member.client.revokeKey({ id: target!.id }),
          () => member.client.deleteKey({ id: target!.id }),
          () => member.client.regenerateKey({ id: target!.id }),
        ]) {
          expect(await failure(call())).toMatchObject({ ...DENIED, field: "id" });
        }
        expect((await owner.getKey({ id: target!.id })).key).toEqual(target);
        expect(await check(secret)).toBe("allowed");
        expect(await refusals(owner, { keyId: target!.id })).toHaveLength(5);
        expect(org.owner.id).toBe(target!.ownerUserId);
      });

      it("keeps a member inside their own max_keys and max_rate_limit: naming another owner is refused", async () => {
        const { owner } = await organization();
        const capped = await actingAs(owner, UserRole.MEMBER, { maxKeys: 1, maxRateLimit: 10 });
        const { user: uncapped } = await owner.addUser({ name: "uncapped" });

        expect(await failure(capped.client.createKey({ name: "x", scopes: ["machines:read"] }))).toMatchObject({ code: Code.ResourceExhausted });
        for (const call of [
          () => capped.client.createKey({ name: "x", scopes: ["machines:read"], ownerUserId: uncapped!.id }),
          () =>
            capped.client.createKey({ name: "x", scopes: ["machines:read"], ownerUserId: uncapped!.id, rateLimit: 1000, rateLimitPeriod: RateLimitPeriod.MINUTE }),
          () => capped.client.updateKey({ id: capped.key.id, ownerUserId: uncapped!.id, rateLimit: 1000, rateLimitPeriod: RateLimitPeriod.MINUTE }),
        ]) {
          expect(await failure(call())).toMatchObject({ ...DENIED, field: "owner_user_id" });
        }
        const keys = (await owner.listKeys({ pageSize: 100 })).keys;
        expect(keys.filter((k) => k.ownerUserId === uncapped!.id)).toEqual([]);
        expect(keys.find((k) => k.id === capped.key.id)).toMatchObject({ ownerUserId: capped.user.id, rateLimit: 10 });
      });
    });

    describe("5: a capped user's rate limit", () => {
      it("gives a key created or updated without a rate limit, or with 0, its owner's bound, never unlimited", async () => {
        const { owner } = await organization();
        const capped = await actingAs(owner, UserRole.MEMBER, { maxRateLimit: 100 });
        const bound = { rateLimit: 100, rateLimitPeriod: RateLimitPeriod.MINUTE };
        expect(capped.key).toMatchObject(bound);

        const omitted = (await capped.client.createKey({ name: "omitted", scopes: ["machines:read"] })).key!;
        expect(omitted).toMatchObject(bound);
        const zero = (await capped.client.createKey({ name: "zero", scopes: ["machines:read"], rateLimit: 0 })).key!;
        expect(zero).toMatchObject(bound);
        const slow = (await capped.client.createKey({ name: "slow", scopes: ["machines:read"], rateLimit: 5, rateLimitPeriod: RateLimitPeriod.MINUTE })).key!;
        expect((await capped.client.updateKey({ id: slow.id, rateLimit: 0 })).key).toMatchObject(bound);
        // The owner's plan bounds a key when the user has no cap of their own.
        expect((await owner.createKey({ name: "the owner key", scopes: ["machines:read"] })).key).toMatchObject({ rateLimit: 6000, rateLimitPeriod: RateLimitPeriod.MINUTE });
      });

      it("re-bounds a user's keys the moment their limits narrow: the very next Check uses the new bound", async () => {
        const { owner } = await organization();
        const member = await actingAs(owner, UserRole.MEMBER);
        const { key, secret } = await member.client.createKey({ name: "busy", scopes: ["machines:read"], rateLimit: 100, rateLimitPeriod: RateLimitPeriod.MINUTE });
        expect(await check(secret)).toBe("allowed"); // now in Check's cache with 100 per minute

        await owner.updateUser({ id: member.user.id, limits: { maxRateLimit: 2 } });
        expect((await owner.getKey({ id: key!.id })).key).toMatchObject({ rateLimit: 2, rateLimitPeriod: RateLimitPeriod.MINUTE });
        expect((await owner.getKey({ id: member.key.id })).key).toMatchObject({ rateLimit: 2, rateLimitPeriod: RateLimitPeriod.MINUTE });
        expect(await check(secret)).toBe("allowed");
        expect(await check(secret)).toBe("RATE_LIMITED");

        const [rebound] = (await owner.listAuditEvents({ keyId: key!.id })).events;
        expect(rebound).toMatchObject({ action: "key.update", details: { reason: "owner_limits", userId: member.user.id } });
      });

      it("bounds a key written under limits that narrowed meanwhile (a write racing UpdateUser) by the next write", async () => {
        const { org, owner } = await organization();
        const member = await actingAs(owner, UserRole.MEMBER);
        await owner.updateUser({ id: member.user.id, limits: { maxRateLimit: 10, availableScopes: { values: ["machines:read", "admin:read", "admin:write"] } } });
        // What a CreateKey validated against the old limits would have written after the sweep.
        const late = (await owner.createKey({ name: "late", scopes: ["machines:read"] })).key!;
        const raced = { ...(await t.store.keys.findById(org.organization.id, late.id))!, id: `${late.id}x`, secretHash: `${late.id}-hash`, ownerUserId: member.user.id, scopes: ["machines:read", "data:export"], rateLimit: { limit: 1000, period: "minute" as const } };
        expect((await t.store.keys.create(raced, { organizationMax: 1000, userMax: 1000 })).ok).toBe(true);

        const renamed = (await owner.updateKey({ id: raced.id, name: "renamed" })).key!;
        expect(renamed).toMatchObject({ name: "renamed", scopes: ["machines:read"], rateLimit: 10, rateLimitPeriod: RateLimitPeriod.MINUTE });
        expect((await owner.getKey({ id: raced.id })).key).toMatchObject({ scopes: ["machines:read"], rateLimit: 10 });
      });

      it("takes off the scopes a user may no longer hold, admin scopes included, at once", async () => {
        const { owner } = await organization();
        const member = await actingAs(owner, UserRole.MEMBER);
        const { key, secret } = await owner.createKey({ name: "reader", scopes: ["machines:read", "tags:read"], ownerUserId: member.user.id });
        expect(await check(secret)).toBe("allowed");

        await owner.updateUser({ id: member.user.id, limits: { availableScopes: { values: ["tags:read", "admin:read", "admin:write"] } } });
        expect((await owner.getKey({ id: key!.id })).key!.scopes).toEqual(["tags:read"]);
        expect(await check(secret)).toBe("SCOPE_MISSING");

        await owner.updateUser({ id: member.user.id, limits: { canCreateAdminKeys: false } });
        expect((await owner.getKey({ id: member.key.id })).key!.scopes).toEqual([]);
        expect(await failure(member.client.listKeys({}))).toMatchObject(DENIED);
      });
    });

    describe("puppet users: a capped caller grants no limit beyond its own", () => {
      const LIMIT_DENIED = { code: Code.PermissionDenied, reason: "PERMISSION_DENIED" };
      const users = async (owner: AdminClient) => (await owner.listUsers({ pageSize: 1000 })).users;

      type Limits = MessageInitShape<typeof UserLimitsSchema>;
      it.each<[string, Limits, Limits, Limits]>([
        ["max_rate_limit", { maxRateLimit: 100 }, { maxRateLimit: 101 }, { maxRateLimit: 100 }],
        ["max_keys", { maxKeys: 2 }, { maxKeys: 3 }, { maxKeys: 2 }],
        [
          "available_scopes",
          { availableScopes: { values: ["machines:read", "admin:read", "admin:write"] } },
          { availableScopes: { values: ["machines:read", "data:export"] } },
          { availableScopes: { values: ["machines:read"] } },
        ],
      ])(
        "refuses an admin capped on %s adding a user without that limit (the plan's) or above its own, naming the limit to set",
        async (limit, cap, above, within) => {
          const { owner } = await organization();
          const capped = await actingAs(owner, UserRole.ADMIN, cap);
          const before = await users(owner);

          for (const call of [
            () => capped.client.addUser({ name: "puppet admin", role: UserRole.ADMIN }),
            () => capped.client.addUser({ name: "puppet member" }),
            () => capped.client.addUser({ name: "puppet admin", role: UserRole.ADMIN, limits: above }),
          ]) {
            const refused = await failure(call());
            expect(refused).toMatchObject({ ...LIMIT_DENIED, field: `limits.${limit}` });
            expect(refused.message).toContain(`limits.${limit}`);
          }
          expect(await users(owner)).toEqual(before);
          expect(await refusals(owner, { actorKeyId: capped.key.id })).toEqual([
            ["AddUser", "LIMITS_ABOVE_OWN"],
            ["AddUser", "LIMITS_ABOVE_OWN"],
            ["AddUser", "LIMITS_ABOVE_OWN"],
          ]);
          // Limits within its own are the caller's to give.
          expect((await capped.client.addUser({ name: "helper", role: UserRole.ADMIN, limits: within })).user).toBeDefined();
        },
      );

      it("refuses a capped admin raising another user's limits above its own, by a value or by reset_limits; narrowing stays its to do", async () => {
        const { owner } = await organization();
        const capped = await actingAs(owner, UserRole.ADMIN, { maxRateLimit: 100 });
        const { user: colleague } = await owner.addUser({ name: "colleague", role: UserRole.ADMIN, limits: { maxRateLimit: 50 } });
        const { user: uncapped } = await owner.addUser({ name: "uncapped member" });

        expect(await failure(capped.client.updateUser({ id: colleague!.id, limits: { maxRateLimit: 1000 } }))).toMatchObject({ ...LIMIT_DENIED, field: "limits.max_rate_limit" });
        expect(await failure(capped.client.updateUser({ id: colleague!.id, resetLimits: ["max_rate_limit"] }))).toMatchObject({ ...LIMIT_DENIED, field: "reset_limits" });
        expect((await users(owner)).find((u) => u.id === colleague!.id)!.limits).toMatchObject({ maxRateLimit: 50 });

        expect((await capped.client.updateUser({ id: colleague!.id, limits: { maxRateLimit: 100 } })).user!.limits).toMatchObject({ maxRateLimit: 100 });
        // A user already above the caller in one limit can still be narrowed in another.
        expect((await capped.client.updateUser({ id: uncapped!.id, limits: { maxKeys: 3 } })).user!.limits).toMatchObject({ maxKeys: 3 });
      });

      it("bounds a key a capped admin gives another user by its own rate too: above it refused, left out or 0 its own bound", async () => {
        const { owner } = await organization();
        const capped = await actingAs(owner, UserRole.ADMIN, { maxRateLimit: 100 });
        const { user: uncapped } = await owner.addUser({ name: "uncapped member" });
        const high = { rateLimit: 1000, rateLimitPeriod: RateLimitPeriod.MINUTE };
        const ownBound = { rateLimit: 100, rateLimitPeriod: RateLimitPeriod.MINUTE };

        expect(await failure(capped.client.createKey({ name: "fast", scopes: ["machines:read"], ownerUserId: uncapped!.id, ...high }))).toMatchObject({ ...LIMIT_DENIED, field: "rate_limit" });
        expect(await failure(capped.client.createKey({ name: "fast", scopes: ["machines:read"], ownerUserId: uncapped!.id, rateLimit: 2, rateLimitPeriod: RateLimitPeriod.SECOND }))).toMatchObject({ ...LIMIT_DENIED, field: "rate_limit" });
        const { key } = await capped.client.createKey({ name: "puppet key", scopes: ["machines:read"], ownerUserId: uncapped!.id });
        expect(key).toMatchObject({ ownerUserId: uncapped!.id, ...ownBound });
        expect(await failure(capped.client.updateKey({ id: key!.id, ...high }))).toMatchObject({ ...LIMIT_DENIED, field: "rate_limit" });
        expect((await capped.client.updateKey({ id: key!.id, rateLimit: 0 })).key).toMatchObject(ownBound);
        // So the secret it holds of that key, regenerated or not, is no faster than its own keys.
        expect((await capped.client.regenerateKey({ id: key!.id })).key).toMatchObject(ownBound);
        expect(await refusals(owner, { actorKeyId: capped.key.id })).toEqual([["CreateKey", "RATE_ABOVE_OWN"], ["CreateKey", "RATE_ABOVE_OWN"]]);
        expect(await refusals(owner, { keyId: key!.id })).toEqual([["UpdateKey", "RATE_ABOVE_OWN"]]);
      });

      it("caps owners the same way: an owner narrowed by another owner grants no more than it has", async () => {
        const { owner } = await organization();
        const narrowed = await actingAs(owner, UserRole.OWNER, { maxRateLimit: 100, maxKeys: 4 });
        const { user: member } = await owner.addUser({ name: "member" });

        expect(await failure(narrowed.client.addUser({ name: "puppet owner", role: UserRole.OWNER }))).toMatchObject({ ...LIMIT_DENIED, field: "limits.max_keys" });
        expect(await failure(narrowed.client.addUser({ name: "puppet", limits: { maxKeys: 4 } }))).toMatchObject({ ...LIMIT_DENIED, field: "limits.max_rate_limit" });
        const { user: small } = await owner.addUser({ name: "small", role: UserRole.OWNER, limits: { maxKeys: 2, maxRateLimit: 50 } });
        expect(await failure(narrowed.client.updateUser({ id: small!.id, limits: { maxKeys: 5 } }))).toMatchObject({ ...LIMIT_DENIED, field: "limits.max_keys" });
        expect(await failure(narrowed.client.createKey({ name: "fast", scopes: ["machines:read"], ownerUserId: member!.id, rateLimit: 1000, rateLimitPeriod: RateLimitPeriod.MINUTE }))).toMatchObject({ ...LIMIT_DENIED, field: "rate_limit" });
        expect((await narrowed.client.addUser({ name: "helper", limits: { maxKeys: 4, maxRateLimit: 100 } })).user).toBeDefined();
      });
    });

    describe("6: a key changed between the decision and the write", () => {
      type Call = (client: AdminClient, id: string) => Promise<unknown>;
      const calls: Record<string, Call> = {
        UpdateKey: (client, id) => client.updateKey({ id, description: "the member wrote this" }),
        RegenerateKey: (client, id) => client.regenerateKey({ id }),
        RevokeKey: (client, id) => client.revokeKey({ id }),
        DeleteKey: (client, id) => client.deleteKey({ id }),
      };

      /** A member, and a key of their own they may act on. */
      async function aMembersKey() {
        const { org, owner } = await organization();
        const member = await actingAs(owner, UserRole.MEMBER);
        const { key, secret } = await member.client.createKey({ name: "the member key", scopes: ["machines:read"] });
        return { org, owner, member, key: key!, secret };
      }

      for (const [method, call] of Object.entries(calls)) {
        it(`refuses a member's ${method} decided on their own key that the owner took and broadened meanwhile, and changes nothing`, async () => {
          const { org, owner, member, key, secret } = await aMembersKey();
          let taken: unknown;
          race.afterNextRead(key.id, async () => {
            const broader = { id: key.id, ownerUserId: org.owner.id, scopes: { values: ["machines:read", "admin:read", "admin:write"] } };
            taken = (await owner.updateKey(broader)).key;
          });

          expect(await failure(call(member.client, key.id))).toMatchObject({ ...DENIED, field: "id" });

          expect(taken).toMatchObject({ ownerUserId: org.owner.id, scopes: ["machines:read", "admin:read", "admin:write"] });
          expect((await owner.getKey({ id: key.id })).key).toEqual(taken);
          expect(await check(secret)).toBe("allowed");
          expect(await refusals(owner, { keyId: key.id })).toEqual([[method, "KEY_OWNER_OUTRANKS"]]);
        });
      }

      it("decides again on the key as it is now: a rename in between does not stop the member's regenerate", async () => {
        const { owner, member, key, secret } = await aMembersKey();
        race.afterNextRead(key.id, async () => {
          clock.advance(1);
          await owner.updateKey({ id: key.id, name: "renamed by the owner" });
        });

        const rotated = await member.client.regenerateKey({ id: key.id });

        expect(rotated.key).toMatchObject({ id: key.id, name: "renamed by the owner", ownerUserId: member.user.id });
        expect(await check(rotated.secret)).toBe("allowed");
        expect(await check(secret)).not.toBe("allowed");
      });

      it("answers aborted, having changed nothing, when the key changes under every decision", async () => {
        const { owner, member, key, secret } = await aMembersKey();
        let renames = 0;
        const rename = async () => {
          clock.advance(1);
          await owner.updateKey({ id: key.id, name: `renamed ${++renames}` });
          race.afterNextRead(key.id, rename);
        };
        race.afterNextRead(key.id, rename);

        const aborted = await failure(member.client.regenerateKey({ id: key.id }));
        race.disarm();

        expect(aborted).toMatchObject({ code: Code.Aborted, reason: "PERMISSION_DENIED", field: "id" });
        expect(renames).toBe(3);
        expect((await owner.getKey({ id: key.id })).key).toMatchObject({ name: "renamed 3", keyPrefix: key.keyPrefix });
        expect(await check(secret)).toBe("allowed");
      });
    });
  });
}
