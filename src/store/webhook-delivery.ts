import { newId } from "../model/ids.js";
import type { WebhookDeliveryRecord, WebhookEndpointRecord, WebhookEvent } from "../model/webhooks.js";

/** Whether the endpoint takes events of this type: enabled, and subscribed to it (no types: all). */
export const takesEvent = (endpoint: WebhookEndpointRecord, event: WebhookEvent): boolean =>
  endpoint.enabled && (endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(event.type));

/** A delivery of `event` to `endpointId` not yet attempted, due at `at`. */
export const newDelivery = (endpointId: string, event: WebhookEvent, at: Date): WebhookDeliveryRecord => ({
  id: newId("whd"),
  organizationId: event.organizationId,
  endpointId,
  eventId: event.id,
  eventType: event.type,
  payload: event.payload,
  attempt: 0,
  status: "pending",
  responseCode: 0,
  lastError: "",
  nextAttemptAt: at,
  createdAt: at,
  claim: null,
});

/** What a delivery whose endpoint was deleted says, having failed for it. */
export const ENDPOINT_DELETED = "endpoint deleted";
