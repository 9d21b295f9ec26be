/**
 * Webhooks' vocabulary (docs/webhooks.md, and the contract's "Webhooks"): the event types, the
 * endpoints an organization registers, the events its changes cause and each event's delivery to
 * one endpoint. The store keeps them (store.ts, WebhookRepository); webhooks/ delivers them.
 */

/** Every event type, as the contract names them. */
export const WEBHOOK_EVENT_TYPES = [
  "key.created",
  "key.updated",
  "key.rotated",
  "key.revoked",
  "key.deleted",
  "key.expiring",
  "key.expired",
  "key.leaked",
  "quota.threshold",
  "rate_limit.exceeded",
  "key.credits_low",
  "user.removed",
  "identity.created",
  "identity.updated",
  "identity.deleted",
  "webhook.test",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const isWebhookEventType = (value: string): value is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);

/** A signing secret as stored: sealed (AES-256-GCM under a key derived from the pepper). */
export interface SealedSigningSecret {
  nonce: string;
  ciphertext: string;
}

export interface WebhookEndpointRecord {
  /** `whe_` + base32. */
  id: string;
  organizationId: string;
  url: string;
  /** Empty: every type. */
  eventTypes: WebhookEventType[];
  description: string;
  enabled: boolean;
  /** Why keygate disabled it (deliveries failing for 5 days); empty otherwise. */
  disabledReason: string;
  secret: SealedSigningSecret;
  /** The secret before the last rotation, which deliveries also sign with until `expiresAt`. */
  previousSecret?: { secret: SealedSigningSecret; expiresAt: Date };
  /** Since when every attempt to it has failed; null while the last one succeeded (or none was made). */
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * An event, written in the same unit of work as the change that caused it. Its id is the
 * `webhook-id` of every delivery of it; events that must happen once (a key's expiry warning, a
 * quota threshold in a month) have ids derived from what they are about, so a second writer's
 * event is the same event and is not queued again.
 */
export interface WebhookEvent {
  /** `msg_` + base32 or a derived id. */
  id: string;
  organizationId: string;
  type: WebhookEventType;
  occurredAt: Date;
  /** The JSON body, fixed when the event is written: every attempt sends the same bytes. */
  payload: string;
  /**
   * For an event that must happen once but may be made again for longer than the outbox's
   * retention (a key's expiry warning, found on every pass until the key expires, up to a year):
   * its id is remembered at least until then.
   */
  rememberUntil?: Date;
}

export type WebhookDeliveryStatus = "pending" | "delivered" | "failed";

/** One event's delivery to one endpoint, retried with backoff until it succeeds or gives up. */
export interface WebhookDeliveryRecord {
  /** `whd_` + base32. */
  id: string;
  organizationId: string;
  endpointId: string;
  eventId: string;
  eventType: WebhookEventType;
  payload: string;
  /** Attempts made so far. */
  attempt: number;
  status: WebhookDeliveryStatus;
  /** The last attempt's HTTP status; 0 when it got none. */
  responseCode: number;
  /** The last failure: a short excerpt of the answer, or the network error. Never a secret. */
  lastError: string;
  nextAttemptAt: Date;
  createdAt: Date;
  /** The replica delivering it now, and until when its claim holds; null when unclaimed. */
  claim: { holder: string; until: Date } | null;
}

/** An organization's lifecycle and notification settings; every field has a default. */
export interface OrganizationSettings {
  /** Days before expiry that `key.expiring` is sent; 1..365. */
  expiryWarningDays: number;
  /** Keys expire within this many days of creation or update; 0: no maximum. */
  maxKeyLifetimeDays: number;
  /** Keys unused this many days are disabled; 0: never. */
  disableUnusedKeysAfterDays: number;
  /** Percentages of the monthly quota at which `quota.threshold` is sent, ascending. */
  quotaThresholds: number[];
  /** What a key reported leaked (secret scanning, src/leaks/) gets besides `key.leaked`. */
  leakedKeyAction: LeakedKeyAction;
  /**
   * The response header whose value is debited from a key's credits after each response on a
   * route whose own rule names none (model/response-cost.ts); empty: none.
   */
  responseCostHeader: string;
  /**
   * `key.credits_low` is sent once per balance and refill window when a key's or its identity's
   * credits left fall to this percentage of the window's allowance (credits-low.ts); 0..100, 0: never.
   */
  creditsLowThresholdPercent: number;
}

/** `notify`: the event and the audit entry alone; `disable`: the key is disabled too; `revoke`: revoked. */
export const LEAKED_KEY_ACTIONS = ["notify", "disable", "revoke"] as const;
export type LeakedKeyAction = (typeof LEAKED_KEY_ACTIONS)[number];

export const DEFAULT_ORGANIZATION_SETTINGS: Readonly<OrganizationSettings> = Object.freeze({
  expiryWarningDays: 7,
  maxKeyLifetimeDays: 0,
  disableUnusedKeysAfterDays: 0,
  quotaThresholds: Object.freeze([80, 100]) as unknown as number[],
  // A leaked key stops at once but can be turned back on if the report was wrong.
  leakedKeyAction: "disable",
  responseCostHeader: "",
  creditsLowThresholdPercent: 10,
});
