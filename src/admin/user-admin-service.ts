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
import { isId, newId } from "../model/ids.js";
import type { UserPatch } from "../store/store.js";
import type { User, UserRole } from "../model/records.js";
import { callerOf, type Caller } from "./caller.js";
import { adminError, fieldError, notAnId } from "./errors.js";
import type { AdminParts } from "./admin-parts.js";
import { toUserMessage, USER_ROLES } from "./mapping.js";
import { effectiveLimits, mayAddUser, mayChangeUser, mayRemoveUser } from "./policy.js";
import { patchedLimits } from "../store/user-limits-patch.js";
import { userLimitsPatch, validUserLimits } from "./user-limits.js";
import { requiredId, validName, validPageSize } from "./validation.js";

type UserAdministration = Pick<ServiceImpl<typeof KeyAdminService>, "addUser" | "listUsers" | "updateUser" | "removeUser">;

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

/**
 * AddUser, ListUsers, UpdateUser and RemoveUser: the users of the caller's organization. Who may
 * manage whom is the policy's (policy/user-rules.ts); an organization never loses its last owner
 * (the store refuses it, and the handlers say so first, as the clearer of two refusals).
 */
export function userAdministration(parts: AdminParts): UserAdministration {
  const { deps, audit, removal, rebound, allow, events } = parts;
  const { store, clock } = deps;

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

  return {
    async addUser(req, ctx) {
      const caller = callerOf(ctx);
      const role = roleOf(req.role, "member")!;
      const name = validName(req.name);
      const limits = validUserLimits(req.limits, caller.plan, deps.scopes);
      const now = clock.now();
      const id = newId("user", now);
      await allow(ctx, mayAddUser(caller.actor, role, effectiveLimits(caller.plan, deps.scopes, { id, limits })));
      const user: User = {
        id,
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
      const target = await member(caller, req.id);
      const role = roleOf(req.role, undefined);
      const patch: UserPatch = {};
      if (req.name !== undefined) patch.name = validName(req.name);
      if (role !== undefined) patch.role = role;
      if (req.limits || req.resetLimits.length > 0) patch.limits = userLimitsPatch(req.limits, req.resetLimits, caller.plan, deps.scopes);
      // Stepping down as the last owner: the clearer of two refusals.
      if (target.id === caller.user.id && role !== undefined && role !== "owner" && (await isLastOwner(target))) throw lastOwner(target, "role");
      const limits = patch.limits && {
        before: effectiveLimits(caller.plan, deps.scopes, target),
        after: effectiveLimits(caller.plan, deps.scopes, { id: target.id, limits: patchedLimits(target.limits, patch.limits) }),
        reset: req.resetLimits,
      };
      await allow(ctx, mayChangeUser(caller.actor, target, { ...(role !== undefined && { role }), ...(limits && { limits }) }));

      const outcome = await store.users.update(caller.organization.id, target.id, patch);
      if (!outcome.ok) throw outcome.reason === "not_found" ? userNotFound(req.id) : lastOwner(target, "role");
      const fields = [...(patch.name !== undefined ? ["name"] : []), ...(role !== undefined ? ["role"] : []), ...Object.keys(patch.limits ?? {})];
      await audit.changed(caller, {
        action: "user.update",
        details: { userId: target.id, fields: fields.join(","), ...(role !== undefined && { role }) },
      });
      // Narrower limits bound the user's keys at once (wider ones leave them as they are).
      if (patch.limits) await rebound.keysOf(caller, outcome.user);
      return create(UpdateUserResponseSchema, { user: toUserMessage(outcome.user) });
    },

    async removeUser(req, ctx) {
      const caller = callerOf(ctx);
      const id = requiredId(req.id);
      if (id === caller.user.id && (await isLastOwner(caller.user))) throw lastOwner(caller.user, "id");
      const target = await store.users.findById(caller.organization.id, id);
      // A user already gone (a removal cut short) ranks as a member, like the keys they left.
      await allow(ctx, mayRemoveUser(caller.actor, target ?? { id, role: "member" }));
      let settled;
      if (target) {
        // The removal and its `user.removed` event are one write; each key it then changes makes its own (owner-removal.ts).
        const outcome = await events.write(
          caller,
          () => store.users.remove(caller.organization.id, id),
          (removed) => (removed.ok ? [{ type: "user.removed", user: removed.user }] : []),
        );
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
