import { create } from "@bufbuild/protobuf";
import { ListKeysResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { callerOf } from "../caller.js";
import { mayReadOrganization } from "../policy.js";
import type { KeyListQuery } from "../../store/store.js";
import { validPageSize } from "../validation.js";
import type { KeyAdminHandler, AdminParts } from "../admin-parts.js";
import { organizationRead } from "./key-lookups.js";
import { withUsage } from "./keys-with-usage.js";
import { keyListFilterOf, serialisedKeyListFilter, type KeyListFilter } from "./key-list-filter.js";

/**
 * ListKeys: the caller's organization's keys, one page at a time, or for a platform operator
 * those of the organization it names (audited there first); filtered by state and a search, in
 * the order asked.
 */
export function listKeys(parts: AdminParts): KeyAdminHandler<"listKeys"> {
  const { deps, allow } = parts;
  const { store } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const pageSize = validPageSize(req.pageSize);
    await allow(ctx, mayReadOrganization(caller.actor, caller.organization.id, req.organizationId));
    const organization = (await organizationRead(store, caller, req.organizationId))!;
    const filter = keyListFilterOf(req);
    if (organization.byOperator) {
      await parts.audit.beforehand(caller, { organizationId: organization.id, action: "operator.list_keys", details: { filter: serialisedKeyListFilter(filter) } });
    }
    const listing = { listing: "keys", organizationId: organization.id, filter: serialisedKeyListFilter(filter) };
    const { items, nextPageToken } = await deps.pageTokens.page(
      listing,
      req.pageToken,
      pageSize,
      (after, limit) => store.keys.list(organization.id, { ...storeQuery(filter, new Date(deps.clock.now())), ...positionAfter(after), limit }),
      (last) => JSON.stringify([last.id, last.name]),
    );
    return create(ListKeysResponseSchema, { keys: await withUsage(parts, items), nextPageToken });
  };
}

function storeQuery(filter: KeyListFilter, now: Date): Omit<KeyListQuery, "limit"> {
  return {
    ...(filter.isActive !== undefined && { isActive: filter.isActive }),
    ...(filter.identityId !== undefined && { identityId: filter.identityId }),
    ...(filter.state !== undefined && { state: { is: filter.state, now } }),
    ...(filter.search !== undefined && { search: filter.search }),
    order: filter.order,
  };
}

/** The cursor a page token carries (signed, so written by this server): the last key's id and name. */
function positionAfter(after: string | undefined): Pick<KeyListQuery, "afterId" | "afterName"> {
  if (after === undefined) return {};
  const [afterId, afterName] = JSON.parse(after) as [string, string];
  return { afterId, afterName };
}
