import type { Collection, Filter, IndexDescription } from "mongodb";
import type { WebhookAttemptOutcome, WebhookEndpointPatch, WebhookRepository } from "../store.js";
import type { SealedSigningSecret, WebhookDeliveryRecord, WebhookEndpointRecord, WebhookEvent } from "../../model/webhooks.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { CreateEndpointOutcome } from "../webhook-repository.js";
import type { MongoUnit } from "./transactions.js";
import { ENDPOINT_DELETED, newDelivery } from "../webhook-delivery.js";
import { WEBHOOK_RETENTION_MS } from "../webhook-retention.js";
import { toDocument } from "./documents.js";
import { reportingDuplicates } from "./mongo-errors.js";
import { OrganizationCounts, type OrganizationCountDocument } from "./organization-counts.js";
import {
  deliveryRecord,
  endpointRecord,
  type WebhookDeliveryDocument,
  type WebhookEndpointDocument,
  type WebhookEventDocument,
} from "./webhook-documents.js";

/**
 * Webhook endpoints, events and the outbox of deliveries, a collection each, and each
 * organization's count of endpoints (organization-counts.ts). Writes that go together (an
 * event and its deliveries; an endpoint and its count; an endpoint deleted and its deliveries
 * failed) are one unit of work, which joins the caller's: the change that caused an event commits
 * with it.
 */
export class MongoWebhookRepository implements WebhookRepository {
  static readonly endpointIndexes: IndexDescription[] = [
    // listEndpoints, and enqueue's endpoints of an organization.
    { key: { organizationId: 1, _id: 1 }, name: "organizationId_id" },
  ];

  static readonly eventIndexes: IndexDescription[] = [
    // An event's id need be remembered only as long as a second writer could make it again: the
    // retention after it occurred, or its rememberUntil when later (forgetAt, set when written).
    { key: { forgetAt: 1 }, name: "forget_ttl", expireAfterSeconds: 0 },
  ];

  static readonly deliveryIndexes: IndexDescription[] = [
    // claimDue: pending deliveries in its sort's order (due time, then id), so no claim sorts; backlog's count.
    { key: { status: 1, nextAttemptAt: 1, _id: 1 }, name: "status_nextAttemptAt_id" },
    // listDeliveries newest first after a cursor; deleteEndpoint's pending deliveries.
    { key: { organizationId: 1, endpointId: 1, _id: 1 }, name: "organizationId_endpointId_id" },
    { key: { createdAt: 1 }, name: "created_ttl", expireAfterSeconds: WEBHOOK_RETENTION_MS / 1000 },
  ];

  readonly #endpoints: Collection<WebhookEndpointDocument>;
  readonly #events: Collection<WebhookEventDocument>;
  readonly #deliveries: Collection<WebhookDeliveryDocument>;
  readonly #counts: OrganizationCounts;
  readonly #units: UnitOfWork<MongoUnit>;

  constructor(
    collections: {
      endpoints: Collection<WebhookEndpointDocument>;
      events: Collection<WebhookEventDocument>;
      deliveries: Collection<WebhookDeliveryDocument>;
      endpointCounts: Collection<OrganizationCountDocument>;
    },
    units: UnitOfWork<MongoUnit>,
  ) {
    this.#endpoints = collections.endpoints;
    this.#events = collections.events;
    this.#deliveries = collections.deliveries;
    this.#units = units;
    const countEndpoints = (organizationId: string) => this.#endpoints.countDocuments({ organizationId });
    this.#counts = new OrganizationCounts(collections.endpointCounts, "endpoints", countEndpoints, () => units.context()?.session !== undefined);
  }

  createEndpoint(endpoint: WebhookEndpointRecord, limits: { maxPerOrganization: number }): Promise<CreateEndpointOutcome> {
    return this.#units.atomically(async () => {
      const { organizationId } = endpoint;
      await this.#counts.ensure(organizationId);
      if (!(await this.#counts.take(organizationId, limits.maxPerOrganization))) return "limit_reached";
      try {
        await reportingDuplicates(() => this.#endpoints.insertOne(toDocument(endpoint)), `webhook endpoint ${endpoint.id}`);
      } catch (error) {
        // Without a transaction nothing takes the place back but this.
        if (this.#units.context()?.session === undefined) await this.#counts.release(organizationId);
        throw error;
      }
      return "created";
    });
  }

  async findEndpoint(organizationId: string, id: string): Promise<WebhookEndpointRecord | null> {
    const doc = await this.#endpoints.findOne({ _id: id, organizationId });
    return doc && endpointRecord(doc);
  }

  async listEndpoints(organizationId: string): Promise<WebhookEndpointRecord[]> {
    return (await this.#endpoints.find({ organizationId }).sort({ _id: 1 }).toArray()).map(endpointRecord);
  }

  async updateEndpoint(organizationId: string, id: string, patch: WebhookEndpointPatch, now: Date): Promise<WebhookEndpointRecord | null> {
    const given = Object.entries(patch).filter(([, value]) => value !== undefined);
    const $set = { ...Object.fromEntries(given), updatedAt: now };
    const doc = await this.#endpoints.findOneAndUpdate({ _id: id, organizationId }, { $set }, { returnDocument: "after" });
    return doc && endpointRecord(doc);
  }

  /** One write, the new secret and the previous one both from the document as the server finds it (a pipeline update). */
  async rotateSecret(organizationId: string, id: string, secret: SealedSigningSecret, previousExpiresAt: Date, now: Date): Promise<WebhookEndpointRecord | null> {
    const rotation = { previousSecret: { secret: "$secret", expiresAt: previousExpiresAt }, secret: { $literal: secret }, updatedAt: now };
    const doc = await this.#endpoints.findOneAndUpdate({ _id: id, organizationId }, [{ $set: rotation }], { returnDocument: "after" });
    return doc && endpointRecord(doc);
  }

  async disableFailing(organizationId: string, id: string, failingSince: Date, reason: string, now: Date): Promise<boolean> {
    const result = await this.#endpoints.updateOne(
      { _id: id, organizationId, enabled: true, failingSince },
      { $set: { enabled: false, disabledReason: reason, updatedAt: now } },
    );
    return result.modifiedCount === 1;
  }

  deleteEndpoint(organizationId: string, id: string, _now: Date): Promise<boolean> {
    return this.#units.atomically(async () => {
      await this.#counts.ensure(organizationId);
      if ((await this.#endpoints.deleteOne({ _id: id, organizationId })).deletedCount === 0) return false;
      await this.#counts.release(organizationId);
      await this.#deliveries.updateMany(
        { organizationId, endpointId: id, status: "pending" },
        { $set: { status: "failed", lastError: ENDPOINT_DELETED, claim: null } },
      );
      return true;
    });
  }

  enqueue(event: WebhookEvent): Promise<WebhookDeliveryRecord[] | null> {
    return this.#units.atomically(async () => {
      if (!(await this.#writeOnce(event))) return null;
      const takers = await this.#endpoints
        .find(
          { organizationId: event.organizationId, enabled: true, $or: [{ eventTypes: { $size: 0 } }, { eventTypes: event.type }] },
          { projection: { _id: 1 } },
        )
        .sort({ _id: 1 })
        .toArray();
      const deliveries = takers.map(({ _id }) => newDelivery(_id, event, event.occurredAt));
      if (deliveries.length > 0) await this.#deliveries.insertMany(deliveries.map(toDocument));
      return deliveries.map((delivery) => structuredClone(delivery));
    });
  }

  deliverTo(organizationId: string, endpointId: string, event: WebhookEvent, now: Date): Promise<WebhookDeliveryRecord | null> {
    return this.#units.atomically(async () => {
      if (event.organizationId !== organizationId) return null;
      if ((await this.#endpoints.countDocuments({ _id: endpointId, organizationId }, { limit: 1 })) === 0) return null;
      await this.#writeOnce(event);
      const delivery = newDelivery(endpointId, event, now);
      await this.#deliveries.insertOne(toDocument(delivery));
      return structuredClone(delivery);
    });
  }

  async isWritten(organizationId: string, eventId: string): Promise<boolean> {
    return (await this.#events.countDocuments({ _id: eventId, organizationId }, { limit: 1 })) > 0;
  }

  async countPending(organizationId: string, endpointId: string): Promise<number> {
    return this.#deliveries.countDocuments({ organizationId, endpointId, status: "pending" });
  }

  async findDelivery(organizationId: string, id: string): Promise<WebhookDeliveryRecord | null> {
    const doc = await this.#deliveries.findOne({ _id: id, organizationId });
    return doc && deliveryRecord(doc);
  }

  async listDeliveries(organizationId: string, endpointId: string, query: { beforeId?: string; limit: number }): Promise<WebhookDeliveryRecord[]> {
    const filter: Filter<WebhookDeliveryDocument> = { organizationId, endpointId };
    if (query.beforeId !== undefined) filter._id = { $lt: query.beforeId };
    return (await this.#deliveries.find(filter).sort({ _id: -1 }).limit(query.limit).toArray()).map(deliveryRecord);
  }

  /**
   * One findOneAndUpdate per delivery: each claims a delivery only if it is still unclaimed (or
   * its claim lapsed) when the server writes it, so two replicas claiming at once never share one.
   */
  async claimDue(
    holder: string,
    now: Date,
    until: Date,
    limit: number,
    skipEndpoints: readonly string[],
    skipOrganizations: readonly string[] = [],
  ): Promise<WebhookDeliveryRecord[]> {
    const due: Filter<WebhookDeliveryDocument> = {
      status: "pending",
      nextAttemptAt: { $lte: now },
      $or: [{ claim: null }, { "claim.until": { $lte: now } }],
      ...(skipEndpoints.length > 0 && { endpointId: { $nin: [...skipEndpoints] } }),
      ...(skipOrganizations.length > 0 && { organizationId: { $nin: [...skipOrganizations] } }),
    };
    const claimed: WebhookDeliveryRecord[] = [];
    while (claimed.length < limit) {
      const doc = await this.#deliveries.findOneAndUpdate(
        due,
        { $set: { claim: { holder, until } } },
        { sort: { nextAttemptAt: 1, _id: 1 }, returnDocument: "after" },
      );
      if (doc === null) break;
      claimed.push(deliveryRecord(doc));
    }
    return claimed;
  }

  async recordAttempt(id: string, holder: string, outcome: WebhookAttemptOutcome): Promise<boolean> {
    const { status, responseCode, lastError, nextAttemptAt } = outcome;
    const result = await this.#deliveries.updateOne(
      { _id: id, "claim.holder": holder },
      { $set: { status, responseCode, lastError, nextAttemptAt, claim: null }, $inc: { attempt: 1 } },
    );
    return result.matchedCount === 1;
  }

  async backlog(): Promise<{ pending: number; oldestCreatedAt: Date | null }> {
    const pending = await this.#deliveries.countDocuments({ status: "pending" });
    if (pending === 0) return { pending, oldestCreatedAt: null };
    const oldest = await this.#deliveries.findOne({ status: "pending" }, { sort: { createdAt: 1 }, projection: { createdAt: 1 } });
    return { pending, oldestCreatedAt: oldest?.createdAt ?? null };
  }

  /**
   * Writes the event unless one with its id is there; true when it wrote it. An upsert rather than
   * an insert, because a duplicate key error would abort the caller's transaction; two units
   * writing one event at once conflict, and the one that runs again finds it.
   */
  async #writeOnce(event: WebhookEvent): Promise<boolean> {
    const { id, ...fields } = event;
    const forgetAt = new Date(Math.max(event.occurredAt.getTime() + WEBHOOK_RETENTION_MS, event.rememberUntil?.getTime() ?? 0));
    const result = await this.#events.updateOne({ _id: id }, { $setOnInsert: { ...fields, forgetAt } }, { upsert: true });
    return result.upsertedCount === 1;
  }
}
