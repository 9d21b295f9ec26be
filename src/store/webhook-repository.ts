import type { SealedSigningSecret, WebhookDeliveryRecord, WebhookDeliveryStatus, WebhookEndpointRecord, WebhookEvent } from "../model/webhooks.js";

/**
 * Fields UpdateWebhookEndpoint (and the dispatcher, for a failing streak) may change. The signing
 * secret is rotateSecret's alone, and disabling a failing endpoint disableFailing's.
 */
export type WebhookEndpointPatch = Partial<Pick<WebhookEndpointRecord, "url" | "eventTypes" | "description" | "enabled" | "disabledReason" | "failingSince">>;

/** createEndpoint's answer: "limit_reached" when the organization already held the most it may (nothing written). */
export type CreateEndpointOutcome = "created" | "limit_reached";

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
  /**
   * Inserts the endpoint if its organization holds fewer than `maxPerOrganization`, checked in the
   * same atomic step, so creations racing for the last place never both get it.
   */
  createEndpoint(endpoint: WebhookEndpointRecord, limits: { maxPerOrganization: number }): Promise<CreateEndpointOutcome>;
  findEndpoint(organizationId: string, id: string): Promise<WebhookEndpointRecord | null>;
  /** The organization's endpoints in creation (id) order. */
  listEndpoints(organizationId: string): Promise<WebhookEndpointRecord[]>;
  /** The endpoint as it is now; null when there is none. */
  updateEndpoint(organizationId: string, id: string, patch: WebhookEndpointPatch, now: Date): Promise<WebhookEndpointRecord | null>;
  /**
   * Swaps in a new signing secret, and makes the one it replaces, as stored at that moment, the
   * previous secret until `previousExpiresAt` (one replaced earlier is dropped), in one atomic
   * write. Rotations at once so end as if made one after another: of two, the later keeps the
   * earlier's new secret as its previous one (a read, then a write, would keep the secret both
   * read and drop the earlier's, which its caller was shown). The endpoint as it is now; null
   * when there is none.
   */
  rotateSecret(organizationId: string, id: string, secret: SealedSigningSecret, previousExpiresAt: Date, now: Date): Promise<WebhookEndpointRecord | null>;
  /**
   * Disables the endpoint with `reason`, only while it is enabled and still failing since
   * `failingSince` (as the caller read it), checked in the same atomic step; true when this call
   * disabled it. Of replicas weighing its failures at once, one disables it (and audits that).
   */
  disableFailing(organizationId: string, id: string, failingSince: Date, reason: string, now: Date): Promise<boolean>;
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
   * Whether an event with this id was written and is still remembered (as enqueue would refuse
   * it): a writer whose event stands for a change it has yet to make (ActOnLeaks) asks first, so
   * an event already told of changes nothing again.
   */
  isWritten(organizationId: string, eventId: string): Promise<boolean>;
  /**
   * A new pending delivery of `event` to `endpointId` alone, due at once, whatever its types
   * (SendTestWebhook, RedeliverWebhook); the event is written if it was not. Null when the
   * endpoint is gone.
   */
  deliverTo(organizationId: string, endpointId: string, event: WebhookEvent, now: Date): Promise<WebhookDeliveryRecord | null>;
  findDelivery(organizationId: string, id: string): Promise<WebhookDeliveryRecord | null>;
  /** How many of an endpoint's deliveries are pending (SendTestWebhook and RedeliverWebhook add none past a bound). */
  countPending(organizationId: string, endpointId: string): Promise<number>;
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
