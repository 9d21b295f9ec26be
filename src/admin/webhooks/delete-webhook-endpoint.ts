import { create } from "@bufbuild/protobuf";
import { DeleteWebhookEndpointResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { mayManageWebhooks } from "../policy.js";
import { requiredId } from "../validation.js";
import { endpointDetails } from "./webhook-audit.js";
import { endpointNotFound, existingEndpoint } from "./webhook-lookups.js";

/** DeleteWebhookEndpoint: the endpoint goes, and its undelivered events with it (they fail, "endpoint deleted"). */
export function deleteWebhookEndpoint(parts: AdminParts): KeyAdminHandler<"deleteWebhookEndpoint"> {
  const { deps, allow, audit } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.id);
    await allow(ctx, mayManageWebhooks(caller.actor));
    // Read first for the audit entry's target.
    const endpoint = await existingEndpoint(store, caller, req.id);
    const deleted = await store.webhooks.deleteEndpoint(caller.organization.id, endpoint.id, new Date(clock.now()));
    if (!deleted) throw endpointNotFound(req.id, "id");
    await audit.changed(caller, { action: "webhook.delete", details: endpointDetails(endpoint) });
    return create(DeleteWebhookEndpointResponseSchema, {});
  };
}
