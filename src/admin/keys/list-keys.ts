import { create } from "@bufbuild/protobuf";
import { ListKeysResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { callerOf } from "../caller.js";
import { mayReadOrganization } from "../policy.js";
import { validPageSize } from "../validation.js";
import type { KeyAdminHandler, AdminParts } from "../admin-parts.js";
import { organizationRead } from "./key-lookups.js";
import { withUsage } from "./keys-with-usage.js";

/**
 * ListKeys: the caller's organization's keys, one page at a time, or for a platform operator
 * those of the organization it names (audited there first).
 */
export function listKeys(parts: AdminParts): KeyAdminHandler<"listKeys"> {
  const { deps, allow } = parts;
  const { store } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const pageSize = validPageSize(req.pageSize);
    await allow(ctx, mayReadOrganization(caller.actor, caller.organization.id, req.organizationId));
    const organization = (await organizationRead(store, caller, req.organizationId))!;
    const filter = req.isActive === undefined ? "any" : String(req.isActive);
    if (organization.byOperator) {
      await parts.audit.beforehand(caller, { organizationId: organization.id, action: "operator.list_keys", details: { filter } });
    }
    const listing = { listing: "keys", organizationId: organization.id, filter };
    const { items, nextPageToken } = await deps.pageTokens.page(listing, req.pageToken, pageSize, (after, limit) =>
      store.keys.list(organization.id, {
        ...(req.isActive === undefined ? {} : { isActive: req.isActive }),
        ...(after === undefined ? {} : { afterId: after }),
        limit,
      }),
    );
    return create(ListKeysResponseSchema, { keys: await withUsage(parts, items), nextPageToken });
  };
}
