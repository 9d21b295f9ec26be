/**
 * How long a webhook event's id is remembered, so a second writer of an event that must happen
 * once (a quota threshold in a month, a key's expiry warning) finds it and queues nothing: longer
 * than the longest such period (a month), and than any delivery is retried (about two days).
 */
export const WEBHOOK_EVENT_RETENTION_MS = 35 * 24 * 60 * 60 * 1000;
