import type { WebhookAttemptOutcome, WebhookEndpointPatch, WebhookRepository } from "../store.js";
import type { SealedSigningSecret, WebhookDeliveryRecord, WebhookEndpointRecord, WebhookEvent } from "../../model/webhooks.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { CreateEndpointOutcome } from "../webhook-repository.js";
import type { MemoryUnit } from "./one-at-a-time.js";
import { ENDPOINT_DELETED, newDelivery, takesEvent } from "../webhook-delivery.js";
import { WEBHOOK_RETENTION_MS } from "../webhook-retention.js";
import { copy } from "./copy.js";

/**
 * Webhook endpoints and the outbox of their deliveries, in process memory. The embedded store
 * does not roll a unit back, so an event and its deliveries are held until the unit that queued
 * them commits (a unit that throws leaves none, and the dispatcher never claims a delivery of a
 * change that did not happen); outside a unit they are written at once.
 */
export class MemoryWebhookRepository implements WebhookRepository {
  readonly #units: UnitOfWork<MemoryUnit>;
  /** Each organization's endpoints by id. */
  readonly #endpoints = new Map<string, Map<string, WebhookEndpointRecord>>();
  /** Ids of the events written, with when each occurred (ms), oldest written first: only their ids are ever asked for. */
  readonly #events = new Map<string, number>();
  /** Ids of events remembered past the retention (WebhookEvent.rememberUntil), with until when. */
  readonly #rememberedLong = new Map<string, number>();
  #sweepLongAt = 64;
  /** Ids of the events queued by a unit not yet committed. */
  readonly #held = new WeakMap<MemoryUnit, Set<string>>();
  /** Every delivery by id, oldest written first. */
  readonly #deliveries = new Map<string, WebhookDeliveryRecord>();
  /** Each endpoint's deliveries, in id (creation) order. */
  readonly #byEndpoint = new Map<string, WebhookDeliveryRecord[]>();
  /** The deliveries still pending, which the dispatcher claims from. */
  readonly #pending = new Set<WebhookDeliveryRecord>();

  constructor(units: UnitOfWork<MemoryUnit>) {
    this.#units = units;
  }

  // Each write below reads and writes without awaiting in between: nothing interleaves with it.

  async createEndpoint(endpoint: WebhookEndpointRecord, limits: { maxPerOrganization: number }): Promise<CreateEndpointOutcome> {
    let endpoints = this.#endpoints.get(endpoint.organizationId);
    if (!endpoints) this.#endpoints.set(endpoint.organizationId, (endpoints = new Map()));
    if (endpoints.has(endpoint.id)) throw new Error(`duplicate webhook endpoint ${endpoint.id}`);
    if (endpoints.size >= limits.maxPerOrganization) return "limit_reached";
    endpoints.set(endpoint.id, copy(endpoint));
    return "created";
  }

  async findEndpoint(organizationId: string, id: string): Promise<WebhookEndpointRecord | null> {
    const endpoint = this.#endpoints.get(organizationId)?.get(id);
    return endpoint ? copy(endpoint) : null;
  }

  async listEndpoints(organizationId: string): Promise<WebhookEndpointRecord[]> {
    return [...(this.#endpoints.get(organizationId)?.values() ?? [])].sort(byId).map(copy);
  }

  async updateEndpoint(organizationId: string, id: string, patch: WebhookEndpointPatch, now: Date): Promise<WebhookEndpointRecord | null> {
    const endpoint = this.#endpoints.get(organizationId)?.get(id);
    if (!endpoint) return null;
    for (const [field, value] of Object.entries(copy(patch))) {
      if (value !== undefined) (endpoint as unknown as Record<string, unknown>)[field] = value;
    }
    endpoint.updatedAt = new Date(now);
    return copy(endpoint);
  }

  async rotateSecret(organizationId: string, id: string, secret: SealedSigningSecret, previousExpiresAt: Date, now: Date): Promise<WebhookEndpointRecord | null> {
    const endpoint = this.#endpoints.get(organizationId)?.get(id);
    if (!endpoint) return null;
    Object.assign(endpoint, { secret: copy(secret), previousSecret: { secret: endpoint.secret, expiresAt: new Date(previousExpiresAt) }, updatedAt: new Date(now) });
    return copy(endpoint);
  }

  async disableFailing(organizationId: string, id: string, failingSince: Date, reason: string, now: Date): Promise<boolean> {
    const endpoint = this.#endpoints.get(organizationId)?.get(id);
    if (!endpoint?.enabled || endpoint.failingSince?.getTime() !== failingSince.getTime()) return false;
    Object.assign(endpoint, { enabled: false, disabledReason: reason, updatedAt: new Date(now) });
    return true;
  }

  async deleteEndpoint(organizationId: string, id: string, _now: Date): Promise<boolean> {
    if (!this.#endpoints.get(organizationId)?.delete(id)) return false;
    for (const delivery of this.#byEndpoint.get(id) ?? []) {
      if (delivery.status !== "pending") continue;
      Object.assign(delivery, { status: "failed", lastError: ENDPOINT_DELETED, claim: null });
      this.#pending.delete(delivery);
    }
    return true;
  }

  async enqueue(event: WebhookEvent): Promise<WebhookDeliveryRecord[] | null> {
    if (this.#isWritten(event.id)) return null;
    const endpoints = [...(this.#endpoints.get(event.organizationId)?.values() ?? [])].sort(byId);
    const deliveries = endpoints.filter((endpoint) => takesEvent(endpoint, event)).map((endpoint) => newDelivery(endpoint.id, event, event.occurredAt));
    this.#writeOnCommit(event, deliveries);
    return deliveries.map(copy);
  }

  async isWritten(_organizationId: string, eventId: string): Promise<boolean> {
    // An event's id is derived from its organization (onceWebhookEvent), so the id alone says whose it is.
    return this.#isWritten(eventId);
  }

  async deliverTo(organizationId: string, endpointId: string, event: WebhookEvent, now: Date): Promise<WebhookDeliveryRecord | null> {
    if (!this.#endpoints.get(organizationId)?.has(endpointId) || event.organizationId !== organizationId) return null;
    const delivery = newDelivery(endpointId, event, now);
    this.#writeOnCommit(event, [delivery]);
    return copy(delivery);
  }

  async countPending(organizationId: string, endpointId: string): Promise<number> {
    let count = 0;
    for (const delivery of this.#byEndpoint.get(endpointId) ?? []) if (delivery.organizationId === organizationId && delivery.status === "pending") count++;
    return count;
  }

  async findDelivery(organizationId: string, id: string): Promise<WebhookDeliveryRecord | null> {
    const delivery = this.#deliveries.get(id);
    return delivery?.organizationId === organizationId ? copy(delivery) : null;
  }

  async listDeliveries(organizationId: string, endpointId: string, query: { beforeId?: string; limit: number }): Promise<WebhookDeliveryRecord[]> {
    const deliveries = this.#byEndpoint.get(endpointId) ?? [];
    const page: WebhookDeliveryRecord[] = [];
    for (let i = deliveries.length - 1; i >= 0 && page.length < query.limit; i--) {
      const delivery = deliveries[i]!;
      if (delivery.organizationId !== organizationId) return [];
      if (query.beforeId === undefined || delivery.id < query.beforeId) page.push(copy(delivery));
    }
    return page;
  }

  async claimDue(
    holder: string,
    now: Date,
    until: Date,
    limit: number,
    skipEndpoints: readonly string[],
    skipOrganizations: readonly string[] = [],
  ): Promise<WebhookDeliveryRecord[]> {
    const [busyEndpoints, busyOrganizations] = [new Set(skipEndpoints), new Set(skipOrganizations)];
    const due = [...this.#pending]
      .filter(
        (delivery) =>
          delivery.nextAttemptAt <= now &&
          (delivery.claim === null || delivery.claim.until <= now) &&
          !busyEndpoints.has(delivery.endpointId) &&
          !busyOrganizations.has(delivery.organizationId),
      )
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || byId(a, b))
      .slice(0, limit);
    for (const delivery of due) delivery.claim = { holder, until: new Date(until) };
    return due.map(copy);
  }

  async recordAttempt(id: string, holder: string, outcome: WebhookAttemptOutcome): Promise<boolean> {
    const delivery = this.#deliveries.get(id);
    if (delivery?.claim?.holder !== holder) return false;
    Object.assign(delivery, copy(outcome), { attempt: delivery.attempt + 1, claim: null });
    if (delivery.status !== "pending") this.#pending.delete(delivery);
    return true;
  }

  async backlog(): Promise<{ pending: number; oldestCreatedAt: Date | null }> {
    let oldest: Date | null = null;
    for (const { createdAt } of this.#pending) if (oldest === null || createdAt < oldest) oldest = createdAt;
    return { pending: this.#pending.size, oldestCreatedAt: oldest && new Date(oldest) };
  }

  #isWritten(eventId: string): boolean {
    const unit = this.#units.context();
    return this.#events.has(eventId) || this.#rememberedLong.has(eventId) || (unit !== undefined && this.#held.get(unit)?.has(eventId) === true);
  }

  /** Writes the event (unless written already) and the deliveries once the unit running now commits; at once outside one. */
  #writeOnCommit(event: WebhookEvent, deliveries: WebhookDeliveryRecord[]): void {
    const unit = this.#units.context();
    if (unit !== undefined) {
      let held = this.#held.get(unit);
      if (!held) this.#held.set(unit, (held = new Set()));
      held.add(event.id);
    }
    const [stored, eventId, occurredAt] = [deliveries.map(copy), event.id, event.occurredAt.getTime()];
    const rememberUntil = event.rememberUntil?.getTime() ?? 0;
    this.#units.afterCommit(() => {
      this.#rememberEvent(eventId, occurredAt, rememberUntil);
      for (const delivery of stored) this.#store(delivery);
    });
  }

  /*
   * What is older than the retention is forgotten as newer is written, from the front of the maps
   * (written oldest first, near enough), as MongoDB's TTL indexes drop it there.
   */

  #rememberEvent(eventId: string, occurredAt: number, rememberUntil: number): void {
    if (this.#events.has(eventId) || this.#rememberedLong.has(eventId)) return;
    for (const [id, written] of this.#events) {
      if (written >= occurredAt - WEBHOOK_RETENTION_MS) break;
      this.#events.delete(id);
    }
    if (rememberUntil <= occurredAt + WEBHOOK_RETENTION_MS) {
      this.#events.set(eventId, occurredAt);
      return;
    }
    // Out of the front-to-back order: swept whole, whenever it has doubled since the last sweep.
    if (this.#rememberedLong.size >= this.#sweepLongAt) {
      for (const [id, until] of this.#rememberedLong) if (until < occurredAt) this.#rememberedLong.delete(id);
      this.#sweepLongAt = Math.max(64, 2 * this.#rememberedLong.size);
    }
    this.#rememberedLong.set(eventId, rememberUntil);
  }

  #forgetDeliveriesBefore(forgetBefore: number): void {
    for (const delivery of this.#deliveries.values()) {
      if (delivery.createdAt.getTime() >= forgetBefore) break;
      this.#deliveries.delete(delivery.id);
      this.#pending.delete(delivery);
      const ofEndpoint = this.#byEndpoint.get(delivery.endpointId)!;
      ofEndpoint.splice(ofEndpoint.indexOf(delivery), 1);
      if (ofEndpoint.length === 0) this.#byEndpoint.delete(delivery.endpointId);
    }
  }

  #store(delivery: WebhookDeliveryRecord): void {
    this.#forgetDeliveriesBefore(delivery.createdAt.getTime() - WEBHOOK_RETENTION_MS);
    this.#deliveries.set(delivery.id, delivery);
    this.#pending.add(delivery);
    let deliveries = this.#byEndpoint.get(delivery.endpointId);
    if (!deliveries) this.#byEndpoint.set(delivery.endpointId, (deliveries = []));
    let i = deliveries.length;
    while (i > 0 && deliveries[i - 1]!.id > delivery.id) i--;
    deliveries.splice(i, 0, delivery);
  }
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
