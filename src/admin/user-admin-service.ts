import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AddUserResponseSchema,
  ListUsersResponseSchema,
  RemoveUserResponseSchema,
  UpdateUserResponseSchema,
  UserRole as UserRoleEnum,
  type KeyAdminService,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { isId, newId } from "../keys/ids.js";
import type { UserPatch } from "../store/store.js";
import type { User, UserRole } from "../store/types.js";
import { CallerAudit } from "./audit-trail.js";
import { callerOf, type Caller } from "./caller.js";
import { adminError, fieldError, notAnId } from "./errors.js";
import type { KeyAdminDeps } from "./key-admin-service.js";
import { toUserMessage, USER_ROLES } from "./mapping.js";
import { OwnerRemoval } from "./owner-removal.js";
import { patchedLimits } from "../store/user-limits-patch.js";
import { effectiveLimits, userLimitsPatch, validUserLimits } from "./user-limits.js";
import { requiredId, validName, validPageSize } from "./validation.js";

type UserAdministration = Pick<ServiceImpl<typeof KeyAdminService>, "addUser" | "listUsers" | "updateUser" | "removeUser">;

/**
 * Roles: owners manage everyone, admins manage admins and members, members manage no one (all
 * three manage keys with an admin:write key). Nobody lowers their own rights through the call
 * that uses them, and an organization never loses its last owner.
 */
const RANK: Record<UserRole, number> = { member: 0, admin: 1, owner: 2 };

function mayManageUsers(caller: Caller): void {
  if (caller.user.role === "member") {
    throw adminError("PERMISSION_DENIED", "only owners and admins manage users; your user is a member", { role: caller.user.role });
  }
}

/** Only an owner touches an owner or makes one. */
function mayManageRole(caller: Caller, role: UserRole, field: string): void {
  if (role === "owner" && caller.user.role !== "owner") {
    throw adminError("PERMISSION_DENIED", `${field}: only an owner manages owners`, { field });
  }
}

function roleOf(value: UserRoleEnum, fallback: UserRole | undefined): UserRole | undefined {
  if (value === UserRoleEnum.UNSPECIFIED) return fallback;
  const role = USER_ROLES.get(value);
  if (!role) throw fieldError("role", "must be USER_ROLE_OWNER, USER_ROLE_ADMIN or USER_ROLE_MEMBER");
  return role;
}

const userNotFound = (id: string): Error =>
  adminError("API_KEY_USER_INVALID", `id: ${isId("user", id) ? `user ${JSON.stringify(id)} is not a member of this organization` : notAnId("user", id)}`, {
    field: "id",
  });

const lastOwner = (user: User, field: string): Error =>
  adminError("API_KEY_USER_INVALID", `${field}: ${user.id} is the organization's last owner; make another user owner first`, { field });

/** AddUser, ListUsers, UpdateUser and RemoveUser: the users of the caller's organization. */
export function userAdministration(deps: KeyAdminDeps): UserAdministration {
  const { store, clock } = deps;
  const audit = new CallerAudit(deps.audit, deps.logger);
  const removal = new OwnerRemoval({ store, clock, keyEvents: deps.keyEvents, audit });

  async function member(caller: Caller, id: string): Promise<User> {
    const user = await store.users.findById(caller.organization.id, requiredId(id));
    if (!user) throw userNotFound(id);
    return user;
  }

  /** For the clearer of two refusals: the last owner stays, whoever asks. */
  async function isLastOwner(user: User): Promise<boolean> {
    if (user.role !== "owner") return false;
    const users = await store.users.listByOrganization(user.organizationId);
    return !users.some((other) => other.role === "owner" && other.id !== user.id);
  }

  /**
   * Your own user may not lose, in this call, the rights your key is using: its role, or a scope
   * its key holds (admin scopes included) that the change would take out of its limits.
   */
  async function keepsOwnRights(caller: Caller, role: UserRole | undefined, patch: UserPatch): Promise<void> {
    if (role !== undefined && RANK[role] < RANK[caller.user.role]) {
      if (await isLastOwner(caller.user)) throw lastOwner(caller.user, "role");
      throw adminError("PERMISSION_DENIED", `role: you cannot lower your own role (${caller.user.role}); another owner can`, { field: "role" });
    }
    if (patch.limits === undefined) return;
    const before = new Set(effectiveLimits(caller.plan, deps.scopes, caller.user).availableScopes);
    const after = effectiveLimits(caller.plan, deps.scopes, { id: caller.user.id, limits: patchedLimits(caller.user.limits, patch.limits) });
    const kept = new Set(after.availableScopes);
    const lost = caller.key.scopes.find((scope) => before.has(scope) && !kept.has(scope));
    if (lost !== undefined) {
      const field = after.canCreateAdminKeys || !["admin:read", "admin:write"].includes(lost) ? "limits.available_scopes" : "limits.can_create_admin_keys";
      throw adminError("PERMISSION_DENIED", `${field}: that would take ${lost} from your own user while your key is using it`, {
        field,
        scope: lost,
      });
    }
  }

  return {
    async addUser(req, ctx) {
      const caller = callerOf(ctx);
      mayManageUsers(caller);
      const role = roleOf(req.role, "member")!;
      mayManageRole(caller, role, "role");
      const name = validName(req.name);
      const limits = validUserLimits(req.limits, caller.plan, deps.scopes);
      const now = clock.now();
      const user: User = {
        id: newId("user", now),
        organizationId: caller.organization.id,
        name,
        role,
        createdAt: new Date(now),
        ...(Object.keys(limits).length > 0 && { limits }),
      };
      await store.users.create(user);
      await audit.changed(caller, { action: "user.add", details: { userId: user.id, name, role, limits: Object.keys(limits).join(",") } });
      return create(AddUserResponseSchema, { user: toUserMessage(user) });
    },

    async listUsers(req, ctx) {
      const caller = callerOf(ctx);
      const pageSize = validPageSize(req.pageSize);
      const listing = { listing: "users", organizationId: caller.organization.id, filter: "" };
      const { items, nextPageToken } = await deps.pageTokens.page(listing, req.pageToken, pageSize, (after, limit) =>
        store.users.listByOrganization(caller.organization.id, { ...(after === undefined ? {} : { afterId: after }), limit }),
      );
      return create(ListUsersResponseSchema, { users: items.map(toUserMessage), nextPageToken });
    },

    async updateUser(req, ctx) {
      const caller = callerOf(ctx);
      mayManageUsers(caller);
      const target = await member(caller, req.id);
      const role = roleOf(req.role, undefined);
      mayManageRole(caller, target.role, "id");
      if (role !== undefined) mayManageRole(caller, role, "role");
      const patch: UserPatch = {};
      if (req.name !== undefined) patch.name = validName(req.name);
      if (role !== undefined) patch.role = role;
      if (req.limits || req.resetLimits.length > 0) patch.limits = userLimitsPatch(req.limits, req.resetLimits, caller.plan, deps.scopes);
      if (target.id === caller.user.id) await keepsOwnRights(caller, role, patch);

      const outcome = await store.users.update(caller.organization.id, target.id, patch);
      if (!outcome.ok) throw outcome.reason === "not_found" ? userNotFound(req.id) : lastOwner(target, "role");
      const fields = [...(patch.name !== undefined ? ["name"] : []), ...(role !== undefined ? ["role"] : []), ...Object.keys(patch.limits ?? {})];
      await audit.changed(caller, {
        action: "user.update",
        details: { userId: target.id, fields: fields.join(","), ...(role !== undefined && { role }) },
      });
      return create(UpdateUserResponseSchema, { user: toUserMessage(outcome.user) });
    },

    async removeUser(req, ctx) {
      const caller = callerOf(ctx);
      mayManageUsers(caller);
      const id = requiredId(req.id);
      if (id === caller.user.id) {
        if (await isLastOwner(caller.user)) throw lastOwner(caller.user, "id");
        throw adminError("PERMISSION_DENIED", "id: you cannot remove your own user while using it; another owner or admin can", { field: "id" });
      }
      const target = await store.users.findById(caller.organization.id, id);
      let settled;
      if (target) {
        mayManageRole(caller, target.role, "id");
        const outcome = await store.users.remove(caller.organization.id, id);
        if (!outcome.ok) throw outcome.reason === "not_found" ? userNotFound(id) : lastOwner(target, "id");
        settled = await removal.settleKeysOf(caller, caller.organization.id, id);
      } else {
        // A removal cut short after the user went (a store fault) is finished by calling it again.
        settled = await removal.settleKeysOf(caller, caller.organization.id, id);
        if (settled.disabled.length + settled.transferred.length === 0) throw userNotFound(id);
      }
      await audit.changed(caller, {
        action: "user.remove",
        details: {
          userId: id,
          ...(target && { name: target.name, role: target.role }),
          disabledKeys: String(settled.disabled.length),
          transferredKeys: String(settled.transferred.length),
          ...(settled.successor && { transferredTo: settled.successor }),
        },
      });
      return create(RemoveUserResponseSchema, {
        disabledKeyIds: settled.disabled,
        transferredKeyIds: settled.transferred,
        transferredToUserId: settled.successor,
      });
    },
  };
}
