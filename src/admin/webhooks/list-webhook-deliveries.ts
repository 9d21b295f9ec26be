import { create } from "@bufbuild/protobuf";
import { ListWebhookDeliveriesResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import { validPageSize } from "../validation.js";
import { toWebhookDelivery } from "../webhook-mapping.js";
import { existingEndpoint } from "./webhook-lookups.js";

const PAGE_SIZES = { fallback: 20, max: 100 };

/** ListWebhookDeliveries: an endpoint of the organization's deliveries, newest first, a page at a time. */
export function listWebhookDeliveries(deps: Pick<KeyAdminDeps, "store" | "pageTokens">): KeyAdminHandler<"listWebhookDeliveries"> {
  const { store } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const pageSize = validPageSize(req.pageSize, PAGE_SIZES);
    const endpoint = await existingEndpoint(store, caller, req.endpointId, "endpoint_id");
    // The endpoint is the filter: a token carries it, so a token is not replayed against another endpoint.
    const listing = { listing: "webhook-deliveries", organizationId: caller.organization.id, filter: endpoint.id };
    const { items, nextPageToken } = await deps.pageTokens.page(listing, req.pageToken, pageSize, (before, limit) =>
      store.webhooks.listDeliveries(caller.organization.id, endpoint.id, { ...(before === undefined ? {} : { beforeId: before }), limit }),
    );
    return create(ListWebhookDeliveriesResponseSchema, { deliveries: items.map(toWebhookDelivery), nextPageToken });
  };
}
