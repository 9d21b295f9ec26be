import { create } from "@bufbuild/protobuf";
import { ListWebhookEndpointsResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { mayManageWebhooks } from "../policy.js";
import { toWebhookEndpoint } from "../webhook-mapping.js";

/**
 * ListWebhookEndpoints: the organization's endpoints in creation order, without their secrets (at
 * most 20: one answer). Receivers often carry a token in the target's path or query, so a caller
 * who may not manage webhooks (a member reading with admin:read) sees only its origin, as the
 * audit log shows it.
 */
export function listWebhookEndpoints(deps: Pick<KeyAdminDeps, "store">): KeyAdminHandler<"listWebhookEndpoints"> {
  return async (_req, ctx) => {
    const caller = callerOf(ctx);
    const endpoints = await deps.store.webhooks.listEndpoints(caller.organization.id);
    const fullTargets = mayManageWebhooks(caller.actor).allowed;
    return create(ListWebhookEndpointsResponseSchema, {
      endpoints: endpoints.map((endpoint) => toWebhookEndpoint(fullTargets ? endpoint : { ...endpoint, url: originOnly(endpoint.url) })),
    });
  };
}

/** The target's scheme, host and port, and a mark that the rest is withheld. */
function originOnly(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname === "/" && parsed.search === "" ? parsed.origin : `${parsed.origin}/…`;
}
