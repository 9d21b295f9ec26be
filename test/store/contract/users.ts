import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { User } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { T0 } from "../../support/records.js";

/** Users: created and listed within their organization, updated and removed, never leaving an organization without an owner. */
export function describeUsersContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  describe("users", () => {
    const aUser = (organizationId: string, id = newId("user")): User => ({
      id,
      organizationId,
      name: "Ada",
      role: "member",
      createdAt: T0,
    });

    it("creates and finds users within their organization", async () => {
      const org = newId("org");
      const user = { ...aUser(org), role: "owner" as const };
      await store.users.create(user);
      expect(await store.users.findById(org, user.id)).toStrictEqual(user);
      expect(await store.users.findById(newId("org"), user.id)).toBeNull();
      expect(await store.users.findById(org, newId("user"))).toBeNull();
    });

    it("lists an organization's users in id order, and only them", async () => {
      const org = newId("org");
      const [first, second, third] = [newId("user"), newId("user"), newId("user")];
      const users = [aUser(org, third), aUser(org, first), { ...aUser(org, second), role: "admin" as const }];
      for (const user of users) await store.users.create(user);
      await store.users.create(aUser(newId("org")));
      expect(await store.users.listByOrganization(org)).toStrictEqual([users[1], users[2], users[0]]);
      expect(await store.users.listByOrganization(newId("org"))).toEqual([]);
    });

    it("rejects a duplicate id", async () => {
      const org = newId("org");
      const user = aUser(org);
      await store.users.create(user);
      await expect(store.users.create({ ...user, name: "Impostor" })).rejects.toThrow(/duplicate/);
      expect(await store.users.listByOrganization(org)).toStrictEqual([user]);
    });
  });

  describe("users: update and remove", () => {
    const aUser = (organizationId: string, fields: Partial<User> = {}): User => ({
      id: newId("user"),
      organizationId,
      name: "Grace",
      role: "member",
      createdAt: T0,
      ...fields,
    });

    async function users(organizationId: string, ...fields: Partial<User>[]): Promise<User[]> {
      const made = fields.map((f) => aUser(organizationId, f));
      for (const user of made) await store.users.create(user);
      return made;
    }

    it("keeps per-user limits exactly, and sets or clears each one alone", async () => {
      const org = newId("org");
      const [user] = await users(org, { limits: { maxKeys: 3, availableScopes: ["machines:read"], canCreateAdminKeys: false } });
      expect(await store.users.findById(org, user!.id)).toStrictEqual(user);
      const outcome = await store.users.update(org, user!.id, {
        name: "Grace H.",
        limits: { maxKeys: null, maxRateLimitPerMinute: 120, canCreateAdminKeys: undefined },
      });
      const expected = { ...user!, name: "Grace H.", limits: { availableScopes: ["machines:read"], canCreateAdminKeys: false, maxRateLimitPerMinute: 120 } };
      expect(outcome).toStrictEqual({ ok: true, user: expected });
      expect(await store.users.findById(org, user!.id)).toStrictEqual(expected);
      const cleared = await store.users.update(org, user!.id, {
        limits: { availableScopes: null, canCreateAdminKeys: null, maxRateLimitPerMinute: null },
      });
      expect(cleared).toStrictEqual({ ok: true, user: { ...user!, name: "Grace H.", limits: {} } });
    });

    it("an empty patch or clearing limits a user never had changes nothing", async () => {
      const org = newId("org");
      const [user] = await users(org, {});
      expect(await store.users.update(org, user!.id, {})).toStrictEqual({ ok: true, user });
      expect(await store.users.update(org, user!.id, { limits: { maxKeys: null } })).toStrictEqual({ ok: true, user });
      expect(await store.users.findById(org, user!.id)).toStrictEqual(user);
    });

    it("changes roles, but never takes the owner role from the last owner", async () => {
      const org = newId("org");
      const [owner, admin] = await users(org, { role: "owner" }, { role: "admin" });
      expect(await store.users.update(org, owner!.id, { role: "admin", name: "x" })).toEqual({ ok: false, reason: "last_owner" });
      expect(await store.users.findById(org, owner!.id)).toStrictEqual(owner);
      expect(await store.users.update(org, admin!.id, { role: "owner" })).toStrictEqual({ ok: true, user: { ...admin!, role: "owner" } });
      expect(await store.users.update(org, owner!.id, { role: "member" })).toStrictEqual({ ok: true, user: { ...owner!, role: "member" } });
      expect(await store.users.update(org, admin!.id, { role: "member" })).toEqual({ ok: false, reason: "last_owner" });
      expect(await store.users.update(org, admin!.id, { role: "owner", name: "still owner" })).toMatchObject({ ok: true });
    });

    it("removes a user and returns what it was, but never the last owner", async () => {
      const org = newId("org");
      const [owner, member, second] = await users(org, { role: "owner" }, {}, { role: "owner" });
      expect(await store.users.remove(org, member!.id)).toStrictEqual({ ok: true, user: member });
      expect(await store.users.findById(org, member!.id)).toBeNull();
      expect(await store.users.remove(org, member!.id)).toEqual({ ok: false, reason: "not_found" });
      expect(await store.users.remove(org, owner!.id)).toStrictEqual({ ok: true, user: owner });
      expect(await store.users.remove(org, second!.id)).toEqual({ ok: false, reason: "last_owner" });
      expect(await store.users.listByOrganization(org)).toStrictEqual([second]);
    });

    it("keeps one owner when the last two are removed or demoted at the same time", async () => {
      for (const change of ["remove", "demote"] as const) {
        const org = newId("org");
        const owners = await users(org, { role: "owner" }, { role: "owner" }, { role: "owner" });
        const outcomes = await Promise.all(
          owners.map((owner) =>
            change === "remove" ? store.users.remove(org, owner.id) : store.users.update(org, owner.id, { role: "admin" }),
          ),
        );
        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(2);
        expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([{ ok: false, reason: "last_owner" }]);
        const remaining = (await store.users.listByOrganization(org)).filter((user) => user.role === "owner");
        expect(remaining).toHaveLength(1);
      }
    });

    it("counts an owner promoted or added later, so the first can then go", async () => {
      const org = newId("org");
      const [first, member] = await users(org, { role: "owner" }, {});
      expect(await store.users.remove(org, first!.id)).toEqual({ ok: false, reason: "last_owner" });
      await store.users.update(org, member!.id, { role: "owner" });
      const [added] = await users(org, { role: "owner" });
      expect(await store.users.remove(org, first!.id)).toMatchObject({ ok: true });
      expect(await store.users.remove(org, member!.id)).toMatchObject({ ok: true });
      expect(await store.users.remove(org, added!.id)).toEqual({ ok: false, reason: "last_owner" });
    });

    it("never reaches a user through another organization", async () => {
      const org = newId("org");
      const [owner, member] = await users(org, { role: "owner" }, {});
      const other = newId("org");
      expect(await store.users.update(other, member!.id, { name: "stolen" })).toEqual({ ok: false, reason: "not_found" });
      expect(await store.users.remove(other, owner!.id)).toEqual({ ok: false, reason: "not_found" });
      expect(await store.users.listByOrganization(org)).toStrictEqual([owner, member]);
    });

    it("pages an organization's users after a cursor", async () => {
      const org = newId("org");
      const made = await users(org, { role: "owner" }, {}, {}, {}, {});
      expect(await store.users.listByOrganization(org, { limit: 2 })).toStrictEqual(made.slice(0, 2));
      expect(await store.users.listByOrganization(org, { afterId: made[1]!.id, limit: 2 })).toStrictEqual(made.slice(2, 4));
      expect(await store.users.listByOrganization(org, { afterId: made[4]!.id })).toEqual([]);
    });
  });
}
