/**
 * How long the webhook outbox keeps what it wrote. An event's id, so a second writer of an event
 * that must happen once (a quota threshold in a month, a key's expiry warning) finds it and queues
 * nothing: longer than the longest such period (a month). A delivery, for ListWebhookDeliveries
 * and redelivery: far longer than any delivery is retried (about two days), so only finished
 * ones are dropped, and the outbox does not grow for good with every change.
 */
export const WEBHOOK_RETENTION_MS = 35 * 24 * 60 * 60 * 1000;
