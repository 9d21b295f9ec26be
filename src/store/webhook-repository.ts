import type { WebhookDeliveryRecord, WebhookDeliveryStatus, WebhookEndpointRecord, WebhookEvent } from "../model/webhooks.js";

/** Fields UpdateWebhookEndpoint (and keygate itself, disabling a failing one) may change. */
export type WebhookEndpointPatch = Partial<
  Pick<WebhookEndpointRecord, "url" | "eventTypes" | "description" | "enabled" | "disabledReason" | "secret" | "previousSecret" | "failingSince">
>;

/** What one attempt of a claimed delivery came to. */
export interface WebhookAttemptOutcome {
  status: WebhookDeliveryStatus;
  responseCode: number;
  lastError: string;
  /** The next attempt, when status is still pending. */
  nextAttemptAt: Date;
}

/**
 * Webhook endpoints, and the outbox of their deliveries (src/webhooks/). Every query names the
 * organization, except the dispatcher's claim, which serves the whole fleet.
 */
export interface WebhookRepository {
  createEndpoint(endpoint: WebhookEndpointRecord): Promise<void>;
  findEndpoint(organizationId: string, id: string): Promise<WebhookEndpointRecord | null>;
  /** The organization's endpoints in creation (id) order. */
  listEndpoints(organizationId: string): Promise<WebhookEndpointRecord[]>;
  /** The endpoint as it is now; null when there is none. */
  updateEndpoint(organizationId: string, id: string, patch: WebhookEndpointPatch, now: Date): Promise<WebhookEndpointRecord | null>;
  /** Removes the endpoint; its pending deliveries fail ("endpoint deleted"). False when there was none. */
  deleteEndpoint(organizationId: string, id: string, now: Date): Promise<boolean>;
  /**
   * Writes the event and a pending delivery (due at once) to each enabled endpoint of its
   * organization that takes its type. Inside a unit of work it joins it, so the change that
   * caused the event and the event commit together. An event whose id was already written is
   * not written again: null. Otherwise the deliveries made (none when no endpoint takes it).
   */
  enqueue(event: WebhookEvent): Promise<WebhookDeliveryRecord[] | null>;
  /**
   * A new pending delivery of `event` to `endpointId` alone, due at once, whatever its types
   * (SendTestWebhook, RedeliverWebhook); the event is written if it was not. Null when the
   * endpoint is gone.
   */
  deliverTo(organizationId: string, endpointId: string, event: WebhookEvent, now: Date): Promise<WebhookDeliveryRecord | null>;
  findDelivery(organizationId: string, id: string): Promise<WebhookDeliveryRecord | null>;
  /** An endpoint's deliveries, newest first; `beforeId` continues a page (ids sort by creation). */
  listDeliveries(organizationId: string, endpointId: string, query: { beforeId?: string; limit: number }): Promise<WebhookDeliveryRecord[]>;
  /**
   * Claims up to `limit` pending deliveries due by `now` whose claim is free or lapsed, oldest
   * due first, for `holder` until `until`, skipping the endpoints in `skipEndpoints` and the
   * organizations in `skipOrganizations` (this replica's busy ones). One store step per delivery,
   * so two replicas never hold one claim.
   */
  claimDue(
    holder: string,
    now: Date,
    until: Date,
    limit: number,
    skipEndpoints: readonly string[],
    skipOrganizations?: readonly string[],
  ): Promise<WebhookDeliveryRecord[]>;
  /**
   * Records the attempt `holder` made on its claim: attempt + 1, the outcome, the claim freed.
   * False, and nothing changed, when the claim is no longer `holder`'s (it lapsed and another
   * replica took it).
   */
  recordAttempt(id: string, holder: string, outcome: WebhookAttemptOutcome): Promise<boolean>;
  /** Pending deliveries, and when the oldest of them was created (metrics). */
  backlog(): Promise<{ pending: number; oldestCreatedAt: Date | null }>;
}
