import { create } from "@bufbuild/protobuf";
import { ListIdentitiesResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { toIdentity } from "../identity-mapping.js";
import { validPageSize } from "../validation.js";
import { validExternalId } from "./identity-fields.js";

/** ListIdentities: the caller's organization's identities in creation order, one page at a time, or the one with an external id. */
export function listIdentities(deps: KeyAdminDeps): KeyAdminHandler<"listIdentities"> {
  const { store } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const pageSize = validPageSize(req.pageSize);
    const externalId = req.externalId === "" ? undefined : validExternalId(req.externalId);
    const organizationId = caller.organization.id;
    const listing = { listing: "identities", organizationId, filter: JSON.stringify({ externalId: externalId ?? null }) };
    const { items, nextPageToken } = await deps.pageTokens.page(listing, req.pageToken, pageSize, (after, limit) =>
      store.identities.list(organizationId, {
        ...(externalId !== undefined && { externalId }),
        ...(after !== undefined && { afterId: after }),
        limit,
      }),
    );
    return create(ListIdentitiesResponseSchema, { identities: items.map(toIdentity), nextPageToken });
  };
}
