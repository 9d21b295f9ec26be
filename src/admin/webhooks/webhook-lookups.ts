import type { ConnectError } from "@connectrpc/connect";
import { isId } from "../../model/ids.js";
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from "../../model/webhooks.js";
import type { Store } from "../../store/store.js";
import type { Caller } from "../caller.js";
import { adminError, notAnId, preconditionFailed } from "../errors.js";
import { requiredId } from "../validation.js";

// The endpoint or delivery a webhook request names, looked up in the caller's organization only:
// another organization's answers exactly as a missing one.

export function endpointNotFound(id: string, field: string): ConnectError {
  if (!isId("whe", id)) return adminError("WEBHOOK_ENDPOINT_NOT_FOUND", `${field}: webhook endpoint not found: ${notAnId("whe", id)}`, { field });
  return adminError("WEBHOOK_ENDPOINT_NOT_FOUND", `${field}: webhook endpoint ${JSON.stringify(id)} not found`, { field, id });
}

export function deliveryNotFound(id: string, field: string): ConnectError {
  if (!isId("whd", id)) return adminError("WEBHOOK_DELIVERY_NOT_FOUND", `${field}: webhook delivery not found: ${notAnId("whd", id)}`, { field });
  return adminError("WEBHOOK_DELIVERY_NOT_FOUND", `${field}: webhook delivery ${JSON.stringify(id)} not found`, { field, id });
}

/** The endpoint `id` of the caller's organization, or not_found naming `field`. */
export async function existingEndpoint(store: Store, caller: Caller, id: string, field = "id"): Promise<WebhookEndpointRecord> {
  const endpoint = await store.webhooks.findEndpoint(caller.organization.id, requiredId(id, field));
  if (!endpoint) throw endpointNotFound(id, field);
  return endpoint;
}

/** The delivery `id` of the caller's organization, or not_found naming `field`. */
export async function existingDelivery(store: Store, caller: Caller, id: string, field = "delivery_id"): Promise<WebhookDeliveryRecord> {
  const delivery = await store.webhooks.findDelivery(caller.organization.id, requiredId(id, field));
  if (!delivery) throw deliveryNotFound(id, field);
  return delivery;
}

/**
 * An endpoint a test or a redelivery may be queued for: an enabled one. A disabled endpoint's
 * deliveries fail unsent, so queuing one would only answer a delivery bound to fail.
 */
/** Pending deliveries past which an endpoint takes no more on demand (SendTestWebhook, RedeliverWebhook). */
export const MAX_PENDING_ON_DEMAND = 100;

/**
 * SendTestWebhook and RedeliverWebhook add a delivery only while the endpoint has fewer than
 * MAX_PENDING_ON_DEMAND pending: pending ones are retried for days, so without a bound a caller
 * could pile up deliveries, and have keygate send their retries to any address. Deliveries of
 * real events are never refused.
 */
export async function roomForOnDemand(store: Store, caller: Caller, endpoint: WebhookEndpointRecord, field: string): Promise<void> {
  if ((await store.webhooks.countPending(caller.organization.id, endpoint.id)) < MAX_PENDING_ON_DEMAND) return;
  throw adminError(
    "WEBHOOK_PENDING_LIMIT_EXCEEDED",
    `${field}: webhook endpoint ${endpoint.id} has ${MAX_PENDING_ON_DEMAND} or more deliveries pending; they are retried on their own (ListWebhookDeliveries shows them), and test or redelivered ones can be added as they finish`,
    { field, limit: String(MAX_PENDING_ON_DEMAND) },
  );
}

export function sendableEndpoint(endpoint: WebhookEndpointRecord, field: string): WebhookEndpointRecord {
  if (!endpoint.enabled) {
    throw preconditionFailed(field, `webhook endpoint ${endpoint.id} is disabled; enable it (UpdateWebhookEndpoint, enabled: true) first`);
  }
  return endpoint;
}
