import type { WebhookDeliveryRecord, WebhookEndpointRecord, WebhookEvent } from "../../model/webhooks.js";
import type { StoredRecord } from "./documents.js";

/** Webhook records as stored: ids as `_id`, times as BSON dates. */

export type WebhookEndpointDocument = StoredRecord<WebhookEndpointRecord>;

/**
 * Kept only so an event is queued once (its id); mongod drops it at `forgetAt` (a TTL index): the
 * retention after it occurred, or its rememberUntil when later.
 */
export type WebhookEventDocument = StoredRecord<WebhookEvent> & { forgetAt: Date };

/** mongod drops it after the retention (TTL on createdAt). */
export type WebhookDeliveryDocument = StoredRecord<WebhookDeliveryRecord>;

/** Field by field, so nothing but the record's own fields ever leaves the store. */
export const endpointRecord = (doc: WebhookEndpointDocument): WebhookEndpointRecord => ({
  id: doc._id,
  organizationId: doc.organizationId,
  url: doc.url,
  eventTypes: doc.eventTypes,
  description: doc.description,
  enabled: doc.enabled,
  disabledReason: doc.disabledReason,
  secret: { nonce: doc.secret.nonce, ciphertext: doc.secret.ciphertext },
  ...(doc.previousSecret && {
    previousSecret: {
      secret: { nonce: doc.previousSecret.secret.nonce, ciphertext: doc.previousSecret.secret.ciphertext },
      expiresAt: doc.previousSecret.expiresAt,
    },
  }),
  failingSince: doc.failingSince,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

export const deliveryRecord = (doc: WebhookDeliveryDocument): WebhookDeliveryRecord => ({
  id: doc._id,
  organizationId: doc.organizationId,
  endpointId: doc.endpointId,
  eventId: doc.eventId,
  eventType: doc.eventType,
  payload: doc.payload,
  attempt: doc.attempt,
  status: doc.status,
  responseCode: doc.responseCode,
  lastError: doc.lastError,
  nextAttemptAt: doc.nextAttemptAt,
  createdAt: doc.createdAt,
  claim: doc.claim && { holder: doc.claim.holder, until: doc.claim.until },
});
