import { create } from "@bufbuild/protobuf";
import { ListWebhookEndpointsResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { toWebhookEndpoint } from "../webhook-mapping.js";

/** ListWebhookEndpoints: the organization's endpoints in creation order, without their secrets (at most 20: one answer). */
export function listWebhookEndpoints(deps: Pick<KeyAdminDeps, "store">): KeyAdminHandler<"listWebhookEndpoints"> {
  return async (_req, ctx) => {
    const caller = callerOf(ctx);
    const endpoints = await deps.store.webhooks.listEndpoints(caller.organization.id);
    return create(ListWebhookEndpointsResponseSchema, { endpoints: endpoints.map(toWebhookEndpoint) });
  };
}
