import { create } from "@bufbuild/protobuf";
import { GetMyLimitsResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { callerOf } from "../caller.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import { USER_ROLE_ENUM } from "../mapping.js";
import type { KeyAdminHandler } from "../admin-parts.js";

/** GetMyLimits: the keys, rate and scopes the caller's user may have, and the keys held so far. */
export function getMyLimits(deps: Pick<KeyAdminDeps, "store">): KeyAdminHandler<"getMyLimits"> {
  const { store } = deps;

  return async (_req, ctx) => {
    const caller = callerOf(ctx);
    const [mine, organization] = await Promise.all([
      store.keys.countHoldingSlots(caller.organization.id, caller.user.id),
      store.keys.countHoldingSlots(caller.organization.id),
    ]);
    // The plan bounded by the user's own limits; scopes also by what this key can grant.
    const limits = caller.actor.limits;
    const available = new Set(limits.availableScopes);
    return create(GetMyLimitsResponseSchema, {
      userId: caller.user.id,
      organizationId: caller.organization.id,
      role: USER_ROLE_ENUM.get(caller.user.role)!,
      maxKeys: limits.maxKeys,
      currentKeys: mine,
      organizationMaxKeys: caller.plan.maxKeysPerOrganization,
      organizationCurrentKeys: organization,
      availableScopes: caller.key.scopes.filter((scope) => caller.actor.scopes.has(scope) && available.has(scope)),
      maxRateLimit: limits.maxRateLimitPerMinute,
      canCreateAdminKeys: limits.canCreateAdminKeys,
    });
  };
}
