import { create } from "@bufbuild/protobuf";
import { SendTestWebhookResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { webhookEvent } from "../../webhooks/webhook-event.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { mayManageWebhooks } from "../policy.js";
import { requiredId } from "../validation.js";
import { toWebhookDelivery } from "../webhook-mapping.js";
import { endpointDetails } from "./webhook-audit.js";
import { endpointNotFound, existingEndpoint, roomForOnDemand, sendableEndpoint } from "./webhook-lookups.js";

/**
 * SendTestWebhook: a `webhook.test` event queued for this endpoint alone, whatever types it takes,
 * signed and retried like any other; the answer is its delivery, pending, to follow in
 * ListWebhookDeliveries.
 */
export function sendTestWebhook(parts: AdminParts): KeyAdminHandler<"sendTestWebhook"> {
  const { deps, allow, audit } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.id);
    await allow(ctx, mayManageWebhooks(caller.actor));
    const endpoint = sendableEndpoint(await existingEndpoint(store, caller, req.id), "id");
    await roomForOnDemand(store, caller, endpoint, "id");
    const now = new Date(clock.now());
    const data = { endpoint: { id: endpoint.id }, actor: { key_id: caller.key.id, user_id: caller.user.id } };
    const event = webhookEvent("webhook.test", caller.organization.id, data, now);
    const delivery = await store.webhooks.deliverTo(caller.organization.id, endpoint.id, event, now);
    if (!delivery) throw endpointNotFound(req.id, "id");
    await audit.changed(caller, { action: "webhook.test", details: { ...endpointDetails(endpoint), eventId: event.id, deliveryId: delivery.id } });
    return create(SendTestWebhookResponseSchema, { delivery: toWebhookDelivery(delivery) });
  };
}
