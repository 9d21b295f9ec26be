import { create } from "@bufbuild/protobuf";
import { ListAuditEventsResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { callerOf } from "../caller.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import { toAuditEventMessage } from "../mapping.js";
import { validPageSize } from "../validation.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { auditFilterOf, serialisedAuditFilter } from "./audit-filter.js";

/** ListAuditEvents: the caller's organization's audit log, newest first, filtered by key, action, actor and time. */
export function listAuditEvents(deps: Pick<KeyAdminDeps, "store" | "pageTokens">): KeyAdminHandler<"listAuditEvents"> {
  const { store } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const pageSize = validPageSize(req.pageSize);
    const filter = auditFilterOf(req);
    const listing = { listing: "audit", organizationId: caller.organization.id, filter: serialisedAuditFilter(filter) };
    const { items, nextPageToken } = await deps.pageTokens.page(listing, req.pageToken, pageSize, (before, limit) =>
      store.audit.list(caller.organization.id, { ...filter, ...(before === undefined ? {} : { beforeId: before }), limit }),
    );
    return create(ListAuditEventsResponseSchema, { events: items.map(toAuditEventMessage), nextPageToken });
  };
}
