import { create } from "@bufbuild/protobuf";
import { UpdateWebhookEndpointResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { WebhookEndpointPatch } from "../../store/store.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { fieldError } from "../errors.js";
import { mayManageWebhooks } from "../policy.js";
import { requiredId } from "../validation.js";
import { toWebhookEndpoint } from "../webhook-mapping.js";
import type { WebhookAdminDeps } from "./webhook-admin-deps.js";
import { endpointDetails } from "./webhook-audit.js";
import { validEndpointDescription, validEventTypes, validTargetUrl } from "./webhook-fields.js";
import { endpointNotFound, existingEndpoint } from "./webhook-lookups.js";

/**
 * UpdateWebhookEndpoint: only the fields present change; event_types only with set_event_types
 * (an empty list then means every type), since a repeated field cannot say it was left out.
 * Enabling an endpoint that was disabled (by a caller, or by keygate after 5 days of failures)
 * starts it afresh: no reason shown, and the 5 days count from its next failure.
 */
export function updateWebhookEndpoint(parts: AdminParts, webhooks: WebhookAdminDeps): KeyAdminHandler<"updateWebhookEndpoint"> {
  const { deps, allow, audit } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.id);
    const patch: WebhookEndpointPatch = {};
    if (req.url !== undefined) patch.url = validTargetUrl(req.url, webhooks.allowInsecureTargets);
    if (req.setEventTypes) patch.eventTypes = validEventTypes(req.eventTypes);
    else if (req.eventTypes.length > 0) throw fieldError("set_event_types", "must be true to change event_types (with it, an empty list means every type)");
    if (req.description !== undefined) patch.description = validEndpointDescription(req.description);
    if (req.enabled !== undefined) patch.enabled = req.enabled;
    await allow(ctx, mayManageWebhooks(caller.actor));
    const current = await existingEndpoint(store, caller, req.id);
    if (req.enabled === true && !current.enabled) {
      patch.disabledReason = "";
      patch.failingSince = null;
    }
    const updated = await store.webhooks.updateEndpoint(caller.organization.id, current.id, patch, new Date(clock.now()));
    if (!updated) throw endpointNotFound(req.id, "id");
    const fields = [
      ...(patch.url !== undefined ? ["url"] : []),
      ...(patch.eventTypes !== undefined ? ["event_types"] : []),
      ...(patch.description !== undefined ? ["description"] : []),
      ...(patch.enabled !== undefined ? ["enabled"] : []),
    ];
    await audit.changed(caller, {
      action: "webhook.update",
      details: {
        ...endpointDetails(updated),
        fields: fields.join(","),
        ...(patch.eventTypes && { eventTypes: patch.eventTypes.join(",") || "*" }),
        ...(patch.enabled !== undefined && { enabled: String(patch.enabled) }),
      },
    });
    return create(UpdateWebhookEndpointResponseSchema, { endpoint: toWebhookEndpoint(updated) });
  };
}
