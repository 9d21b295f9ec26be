import { describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, type Client } from "@connectrpc/connect";
import {
  KeyType,
  RateLimitPeriod,
  UserRole,
  type KeyAdminService,
  type UserLimitsSchema,
} from "../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../support/app.js";
import { failure } from "./answers.js";
import { appOnStore, checkerFor, type StoreMaker } from "./clients.js";

type AdminClient = Client<typeof KeyAdminService>;
const ADMIN = ["admin:read", "admin:write", "machines:read"];

/**
 * Users of an organization through a real server: adding, listing, changing and removing them,
 * the roles that may do each, per-user limits on keys, and a removed user's keys at Check.
 */
export function describeUsers(storeName: string, makeStore: StoreMaker) {
  describe(`users on the ${storeName} store`, () => {
    let t: TestApp;
    let check: (secret: string) => Promise<string>;
    appOnStore(makeStore, (app) => {
      t = app;
      check = checkerFor(t);
    });

    /** A fresh organization (so counts and first owners are the test's own) and its owner's client. */
    async function organization(plan = "pro") {
      const org = await t.anotherOrganization(plan);
      return { org, owner: t.clientFor(org.secret) };
    }

    /** A user of the role, with an admin key of their own, acting through it. */
    async function actingAs(client: AdminClient, role: UserRole, limits?: MessageInitShape<typeof UserLimitsSchema>) {
      const { user } = await client.addUser({ name: `a ${UserRole[role].toLowerCase()}`, role, limits });
      const { secret, key } = await client.createKey({ name: "their admin key", scopes: ADMIN, ownerUserId: user!.id });
      return { user: user!, key: key!, secret, client: t.clientFor(secret) };
    }

    describe("AddUser, ListUsers, UpdateUser", () => {
      it("adds users with their limits, lists them a page at a time, and changes only what is present", async () => {
        const { org, owner } = await organization();
        const { user } = await owner.addUser({ name: "Ada", role: UserRole.MEMBER, limits: { maxKeys: 3, availableScopes: { values: ["machines:read"] } } });
        expect(user).toMatchObject({ name: "Ada", role: UserRole.MEMBER, organizationId: org.organization.id, limits: { maxKeys: 3, availableScopes: { values: ["machines:read"] } } });
        expect(user!.id).toMatch(/^user_/);
        const { user: defaulted } = await owner.addUser({ name: "Bo" });
        expect(defaulted).toMatchObject({ role: UserRole.MEMBER, limits: {} });

        const seen: string[] = [];
        let pageToken = "";
        do {
          const page = await owner.listUsers({ pageSize: 1, pageToken });
          seen.push(...page.users.map((u) => u.id));
          pageToken = page.nextPageToken;
        } while (pageToken);
        expect(seen).toEqual([org.owner.id, user!.id, defaulted!.id]);

        const renamed = (await owner.updateUser({ id: user!.id, name: "Ada L." })).user!;
        expect(renamed).toMatchObject({ name: "Ada L.", role: UserRole.MEMBER, limits: user!.limits });
        const changed = (
          await owner.updateUser({ id: user!.id, role: UserRole.ADMIN, limits: { maxRateLimit: 100 }, resetLimits: ["available_scopes"] })
        ).user!;
        expect(changed).toMatchObject({ name: "Ada L.", role: UserRole.ADMIN, limits: { maxKeys: 3, maxRateLimit: 100 } });
        expect(changed.limits!.availableScopes).toBeUndefined();
        const events = (await owner.listAuditEvents({ pageSize: 100 })).events.filter((e) => e.action.startsWith("user."));
        expect(events.map((e) => [e.action, e.details["userId"]])).toEqual([
          ["user.update", user!.id],
          ["user.update", user!.id],
          ["user.add", defaulted!.id],
          ["user.add", user!.id],
        ]);
        expect(events[0]!.details["fields"]).toBe("role,maxRateLimitPerMinute,availableScopes");
      });

      it("lets admin:read list users but not change them", async () => {
        const { owner } = await organization();
        const { secret } = await owner.createKey({ name: "reader", scopes: ["admin:read"] });
        const reader = t.clientFor(secret);
        expect((await reader.listUsers({})).users).toHaveLength(1);
        expect(await failure(reader.addUser({ name: "Eve" }))).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
      });

      it.each([
        ["an empty name", { name: " " }, Code.InvalidArgument, "API_KEY_FIELD_INVALID", "name"],
        ["a role outside the enum", { name: "x", role: 9 }, Code.InvalidArgument, "API_KEY_FIELD_INVALID", "role"],
        ["more keys than the plan's per user", { name: "x", limits: { maxKeys: 6 } }, Code.InvalidArgument, "API_KEY_FIELD_INVALID", "limits.max_keys"],
        ["a negative key limit", { name: "x", limits: { maxKeys: -1 } }, Code.InvalidArgument, "API_KEY_FIELD_INVALID", "limits.max_keys"],
        ["a rate above the plan's", { name: "x", limits: { maxRateLimit: 61 } }, Code.InvalidArgument, "API_KEY_FIELD_INVALID", "limits.max_rate_limit"],
        ["a zero rate", { name: "x", limits: { maxRateLimit: 0 } }, Code.InvalidArgument, "API_KEY_FIELD_INVALID", "limits.max_rate_limit"],
        ["admin keys the plan forbids", { name: "x", limits: { canCreateAdminKeys: true } }, Code.InvalidArgument, "API_KEY_FIELD_INVALID", "limits.can_create_admin_keys"],
        ["an admin scope the plan forbids", { name: "x", limits: { availableScopes: { values: ["admin:read"] } } }, Code.InvalidArgument, "API_KEY_FIELD_INVALID", "limits.available_scopes"],
        ["an unknown scope", { name: "x", limits: { availableScopes: { values: ["machines:fly"] } } }, Code.InvalidArgument, "API_KEY_SCOPE_NAME_INVALID", "limits.available_scopes"],
        ["platform:admin", { name: "x", limits: { availableScopes: { values: ["platform:admin"] } } }, Code.InvalidArgument, "API_KEY_SCOPE_NAME_INVALID", "limits.available_scopes"],
      ])("refuses %s (free plan) on AddUser and UpdateUser, naming the field, and changes nothing", async (_case, request, code, reason, field) => {
        const { org, owner } = await organization("free");
        const refused = await failure(owner.addUser(request as Parameters<AdminClient["addUser"]>[0]));
        expect(refused).toMatchObject({ code, reason, field });
        expect(refused.message).toContain(field);
        const { user } = await owner.addUser({ name: "Grace" });
        const { name: _name, ...update } = request as Record<string, unknown>;
        if (Object.keys(update).length > 0) {
          expect(await failure(owner.updateUser({ id: user!.id, name: "renamed", ...update }))).toMatchObject({ code, reason, field });
        }
        expect((await owner.listUsers({})).users.map((u) => [u.id, u.name])).toEqual([
          [org.owner.id, "owner"],
          [user!.id, "Grace"],
        ]);
      });

      it("refuses unknown users, other organizations' users, and unknown limits to reset", async () => {
        const { owner } = await organization();
        const other = await organization();
        const { user: theirs } = await other.owner.addUser({ name: "Theirs" });
        const { user: ours } = await owner.addUser({ name: "Ours" });
        for (const id of ["user_01ABCDEFGHJKMNPQRSTVWXYZ01", theirs!.id]) {
          expect(await failure(owner.updateUser({ id, name: "x" }))).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_USER_INVALID", field: "id" });
          expect(await failure(owner.removeUser({ id }))).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_USER_INVALID", field: "id" });
        }
        expect(await failure(owner.updateUser({ id: ours!.id, resetLimits: ["max_everything"] }))).toMatchObject({ field: "reset_limits" });
        expect(await failure(owner.updateUser({ id: ours!.id, limits: { maxKeys: 2 }, resetLimits: ["max_keys"] }))).toMatchObject({ field: "reset_limits" });
        expect((await other.owner.listUsers({})).users.map((u) => u.name)).toEqual(["owner", "Theirs"]);
      });
    });

    describe("roles", () => {
      it("members manage no users; admins manage admins and members but no owner", async () => {
        const { org, owner } = await organization();
        const member = await actingAs(owner, UserRole.MEMBER);
        const admin = await actingAs(owner, UserRole.ADMIN);
        const { user: bob } = await owner.addUser({ name: "Bob" });
        expect(await failure(member.client.addUser({ name: "x" }))).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
        expect(await failure(member.client.removeUser({ id: bob!.id }))).toMatchObject({ code: Code.PermissionDenied });
        expect((await member.client.listUsers({})).users.length).toBe(4);

        expect((await admin.client.addUser({ name: "Cy", role: UserRole.ADMIN })).user!.role).toBe(UserRole.ADMIN);
        expect((await admin.client.updateUser({ id: bob!.id, role: UserRole.ADMIN })).user!.role).toBe(UserRole.ADMIN);
        for (const call of [
          () => admin.client.addUser({ name: "x", role: UserRole.OWNER }),
          () => admin.client.updateUser({ id: bob!.id, role: UserRole.OWNER }),
          () => admin.client.updateUser({ id: org.owner.id, name: "x" }),
          () => admin.client.removeUser({ id: org.owner.id }),
        ]) {
          expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
        }
        expect((await owner.updateUser({ id: bob!.id, role: UserRole.OWNER })).user!.role).toBe(UserRole.OWNER);
        expect((await owner.getMyLimits({})).role).toBe(UserRole.OWNER);
        expect((await member.client.getMyLimits({})).role).toBe(UserRole.MEMBER);
      });

      it("keeps the last owner: removing or demoting them is refused and nothing changes", async () => {
        const { org, owner } = await organization();
        const second = await actingAs(owner, UserRole.OWNER);
        expect(await failure(owner.removeUser({ id: org.owner.id }))).toMatchObject({ code: Code.PermissionDenied, field: "id" });
        // With two owners, one may remove the other; the one left is then the last.
        await second.client.removeUser({ id: org.owner.id });
        for (const call of [
          () => second.client.removeUser({ id: second.user.id }),
          () => second.client.updateUser({ id: second.user.id, role: UserRole.ADMIN }),
        ]) {
          const refused = await failure(call());
          expect(refused).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_USER_INVALID" });
          expect(refused.message).toContain("last owner");
        }
        expect((await second.client.listUsers({})).users.map((u) => [u.id, u.role])).toEqual([[second.user.id, UserRole.OWNER]]);
      });

      it("refuses to demote yourself below the rights you are using, and changes nothing", async () => {
        const { owner } = await organization();
        await actingAs(owner, UserRole.OWNER);
        const admin = await actingAs(owner, UserRole.ADMIN);
        const cases: [() => Promise<unknown>, string][] = [
          [() => admin.client.updateUser({ id: admin.user.id, role: UserRole.MEMBER }), "role"],
          [() => admin.client.updateUser({ id: admin.user.id, limits: { canCreateAdminKeys: false } }), "limits.can_create_admin_keys"],
          [() => admin.client.updateUser({ id: admin.user.id, limits: { availableScopes: { values: ["machines:read"] } } }), "limits.available_scopes"],
          [() => admin.client.removeUser({ id: admin.user.id }), "id"],
        ];
        for (const [call, field] of cases) {
          expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED", field });
        }
        const me = (await admin.client.getMyLimits({})).userId;
        const self = (await owner.listUsers({})).users.find((u) => u.id === me)!;
        expect(self).toMatchObject({ role: UserRole.ADMIN, limits: {} });
        // Changes that keep the rights in use are fine.
        expect((await admin.client.updateUser({ id: me, name: "still admin", limits: { maxKeys: 4 } })).user).toMatchObject({ name: "still admin", limits: { maxKeys: 4 } });
        // An owner may step down while another owner remains, but not through their own call.
        const ownerId = (await owner.getMyLimits({})).userId;
        expect(await failure(owner.updateUser({ id: ownerId, role: UserRole.ADMIN }))).toMatchObject({ code: Code.PermissionDenied, field: "role" });
      });
    });

    describe("per-user limits", () => {
      it("GetMyLimits shows the user's own limits within the plan, and CreateKey keeps to them", async () => {
        const { owner } = await organization();
        const limited = await actingAs(owner, UserRole.MEMBER, {
          maxKeys: 3,
          maxRateLimit: 100,
          availableScopes: { values: ["machines:read", "tags:read", "admin:read", "admin:write"] },
        });
        expect(await limited.client.getMyLimits({})).toMatchObject({
          userId: limited.user.id,
          role: UserRole.MEMBER,
          maxKeys: 3,
          currentKeys: 1,
          maxRateLimit: 100,
          canCreateAdminKeys: true,
          availableScopes: ADMIN,
        });
        // Scopes outside the user's list: neither they nor an owner may give them such a key.
        expect(await failure(owner.createKey({ name: "x", scopes: ["data:export"], ownerUserId: limited.user.id }))).toMatchObject({
          code: Code.PermissionDenied,
          field: "scopes",
        });
        expect(await failure(limited.client.createKey({ name: "x", rateLimit: 101, rateLimitPeriod: RateLimitPeriod.MINUTE, scopes: ["machines:read"] }))).toMatchObject({
          code: Code.InvalidArgument,
          field: "rate_limit",
        });
        const second = await limited.client.createKey({ name: "ok", rateLimit: 100, rateLimitPeriod: RateLimitPeriod.MINUTE, scopes: ["machines:read"] });
        await owner.createKey({ name: "third", scopes: ["tags:read"], ownerUserId: limited.user.id });
        expect(await failure(limited.client.createKey({ name: "fourth", scopes: ["machines:read"] }))).toMatchObject({
          code: Code.ResourceExhausted,
          reason: "API_KEY_LIMIT_EXCEEDED",
        });
        // A key the user may not hold cannot be handed to them either.
        const { key: wide } = await owner.createKey({ name: "wide", scopes: ["data:export"] });
        expect(await failure(owner.updateKey({ id: wide!.id, ownerUserId: limited.user.id }))).toMatchObject({ code: Code.PermissionDenied });
        const { key: fast } = await owner.createKey({ name: "fast", scopes: ["machines:read"], rateLimit: 50, rateLimitPeriod: RateLimitPeriod.SECOND });
        await owner.deleteKey({ id: second.key!.id });
        expect(await failure(owner.updateKey({ id: fast!.id, ownerUserId: limited.user.id }))).toMatchObject({ code: Code.InvalidArgument, field: "owner_user_id" });

        // No admin keys for them any more: the admin scopes come off the key they hold at once (so it
        // can no longer call the admin API), and nobody can give them new ones.
        await owner.updateUser({ id: limited.user.id, limits: { canCreateAdminKeys: false } });
        expect((await owner.getKey({ id: limited.key.id })).key!.scopes).toEqual(["machines:read"]);
        expect(await failure(limited.client.getMyLimits({}))).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
        expect(await failure(owner.createKey({ name: "x", scopes: ["admin:read"], ownerUserId: limited.user.id }))).toMatchObject({ code: Code.PermissionDenied, field: "scopes" });
        // Handing the limits back to the plan gives no scope back; a new admin key works again.
        await owner.updateUser({ id: limited.user.id, resetLimits: ["max_keys", "max_rate_limit", "available_scopes", "can_create_admin_keys"] });
        expect((await owner.getKey({ id: limited.key.id })).key!.scopes).toEqual(["machines:read"]);
        const again = t.clientFor((await owner.createKey({ name: "new admin key", scopes: ADMIN, ownerUserId: limited.user.id })).secret);
        expect(await again.getMyLimits({})).toMatchObject({ maxKeys: 25, maxRateLimit: 6000, canCreateAdminKeys: true, availableScopes: ADMIN });
      });
    });

    describe("RemoveUser", () => {
      it("denies the removed user's keys at Check at once, hands shared keys to the first owner, audits why", async () => {
        const { org, owner } = await organization();
        const leaving = await actingAs(owner, UserRole.MEMBER);
        const { key: personal, secret: personalSecret } = await owner.createKey({ name: "laptop", scopes: ["machines:read"], ownerUserId: leaving.user.id });
        const { key: shared, secret: sharedSecret } = await owner.createKey({
          name: "team deploy",
          scopes: ["machines:read"],
          keyType: KeyType.SHARED,
          ownerUserId: leaving.user.id,
        });
        const { key: revoked } = await owner.createKey({ name: "old", scopes: ["machines:read"], ownerUserId: leaving.user.id });
        await owner.revokeKey({ id: revoked!.id });
        // Cached by Check before the removal: the removal must still take effect on the next request.
        expect(await check(personalSecret)).toBe("allowed");
        expect(await check(leaving.secret)).toBe("allowed");
        expect(await check(sharedSecret)).toBe("allowed");

        const removed = await owner.removeUser({ id: leaving.user.id });
        expect(removed.disabledKeyIds.sort()).toEqual([leaving.key.id, personal!.id].sort());
        expect(removed.transferredKeyIds).toEqual([shared!.id]);
        expect(removed.transferredToUserId).toBe(org.owner.id);

        expect(await check(personalSecret)).toBe("API_KEY_DISABLED");
        expect(await check(leaving.secret)).toBe("API_KEY_DISABLED");
        expect(await check(sharedSecret)).toBe("allowed");
        expect(await failure(leaving.client.listKeys({}))).toMatchObject({ code: Code.Unauthenticated });
        expect((await owner.getKey({ id: personal!.id })).key).toMatchObject({ isActive: false, ownerUserId: leaving.user.id });
        expect((await owner.getKey({ id: shared!.id })).key).toMatchObject({ isActive: true, ownerUserId: org.owner.id });
        expect((await owner.getKey({ id: revoked!.id })).key!.revokedAt).toBeDefined();

        const disable = (await owner.listAuditEvents({ keyId: personal!.id })).events[0]!;
        expect(disable).toMatchObject({ action: "key.disable", actorKeyId: org.key.id, details: { reason: "owner_removed", userId: leaving.user.id } });
        const handOver = (await owner.listAuditEvents({ keyId: shared!.id })).events[0]!;
        expect(handOver).toMatchObject({ action: "key.update", details: { reason: "owner_removed", fields: "owner_user_id", ownerUserId: org.owner.id } });
        const removal = (await owner.listAuditEvents({ pageSize: 100 })).events.find((e) => e.action === "user.remove")!;
        expect(removal.details).toMatchObject({ userId: leaving.user.id, disabledKeys: "2", transferredKeys: "1", transferredTo: org.owner.id });

        // Their disabled key stays off until it has a member as owner.
        expect(await failure(owner.updateKey({ id: personal!.id, isActive: true }))).toMatchObject({
          code: Code.InvalidArgument,
          reason: "API_KEY_USER_INVALID",
          field: "is_active",
        });
        expect(await check(personalSecret)).toBe("API_KEY_DISABLED");
        await owner.updateKey({ id: personal!.id, ownerUserId: org.owner.id, isActive: true });
        expect(await check(personalSecret)).toBe("allowed");
        expect(await failure(owner.removeUser({ id: leaving.user.id }))).toMatchObject({ reason: "API_KEY_USER_INVALID", field: "id" });
      });

      it("hands shared keys to the first owner or admin in creation order", async () => {
        const { org, owner } = await organization();
        const { user: admin } = await owner.addUser({ name: "first admin", role: UserRole.ADMIN });
        const newOwner = await actingAs(owner, UserRole.OWNER);
        const { user: member } = await owner.addUser({ name: "member" });
        const { key } = await owner.createKey({ name: "shared", scopes: ["machines:read"], keyType: KeyType.SHARED, ownerUserId: member!.id });
        await newOwner.client.removeUser({ id: org.owner.id });
        const removed = await newOwner.client.removeUser({ id: member!.id });
        expect(removed).toMatchObject({ transferredKeyIds: [key!.id], transferredToUserId: admin!.id, disabledKeyIds: [] });
        expect((await newOwner.client.getKey({ id: key!.id })).key!.ownerUserId).toBe(admin!.id);
      });
    });
  });
}
