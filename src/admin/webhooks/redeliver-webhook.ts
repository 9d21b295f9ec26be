import { create } from "@bufbuild/protobuf";
import { RedeliverWebhookResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { WebhookEvent } from "../../model/webhooks.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { mayManageWebhooks } from "../policy.js";
import { requiredId } from "../validation.js";
import { toWebhookDelivery } from "../webhook-mapping.js";
import { endpointDetails } from "./webhook-audit.js";
import { endpointNotFound, existingDelivery, existingEndpoint, roomForOnDemand, sendableEndpoint } from "./webhook-lookups.js";

/**
 * RedeliverWebhook: the delivery's event sent again to its endpoint, as a new delivery of the same
 * event: the same `webhook-id` and the same bytes, so a receiver that keeps the ids it has handled
 * can tell it apart from a new event. The event is already stored; deliverTo does not write it again.
 */
export function redeliverWebhook(parts: AdminParts): KeyAdminHandler<"redeliverWebhook"> {
  const { deps, allow, audit } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.deliveryId, "delivery_id");
    await allow(ctx, mayManageWebhooks(caller.actor));
    const original = await existingDelivery(store, caller, req.deliveryId);
    // Named by the delivery, not the request: an endpoint deleted since is the delivery's to report.
    const endpoint = sendableEndpoint(await existingEndpoint(store, caller, original.endpointId, "delivery_id"), "delivery_id");
    await roomForOnDemand(store, caller, endpoint, "delivery_id");
    // The event as stored: its id, type and bytes are the delivery's (its time is the payload's `timestamp`).
    const event: WebhookEvent = {
      id: original.eventId,
      organizationId: original.organizationId,
      type: original.eventType,
      occurredAt: original.createdAt,
      payload: original.payload,
    };
    const now = new Date(clock.now());
    const delivery = await store.webhooks.deliverTo(caller.organization.id, endpoint.id, event, now);
    if (!delivery) throw endpointNotFound(endpoint.id, "delivery_id");
    await audit.changed(caller, {
      action: "webhook.redeliver",
      details: { ...endpointDetails(endpoint), eventId: event.id, deliveryId: delivery.id, redeliveryOf: original.id },
    });
    return create(RedeliverWebhookResponseSchema, { delivery: toWebhookDelivery(delivery) });
  };
}
