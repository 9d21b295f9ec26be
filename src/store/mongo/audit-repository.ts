import type { Collection, Filter, IndexDescription } from "mongodb";
import type { AuditListQuery, AuditRepository } from "../store.js";
import type { AuditEvent } from "../../model/records.js";
import { toDocument, type StoredRecord } from "./documents.js";
import { reportingDuplicates } from "./mongo-errors.js";

export type AuditEventDocument = StoredRecord<AuditEvent>;

const toRecord = (doc: AuditEventDocument): AuditEvent => ({
  id: doc._id,
  organizationId: doc.organizationId,
  action: doc.action,
  actorKeyId: doc.actorKeyId,
  actorUserId: doc.actorUserId,
  keyId: doc.keyId,
  occurredAt: doc.occurredAt,
  details: { ...doc.details },
});

export class MongoAuditRepository implements AuditRepository {
  static readonly indexes: IndexDescription[] = [
    // list: an organization's events, newest first, before a cursor.
    { key: { organizationId: 1, _id: -1 }, name: "organizationId_id" },
    // list for one key.
    { key: { organizationId: 1, keyId: 1, _id: -1 }, name: "organizationId_keyId_id" },
    // list of one action, or of one user's doing (the console's filters): both can be rare in a
    // long trail, so they are not left to a scan of the organization's events.
    { key: { organizationId: 1, action: 1, _id: -1 }, name: "organizationId_action_id" },
    { key: { organizationId: 1, actorUserId: 1, _id: -1 }, name: "organizationId_actorUserId_id" },
  ];

  readonly #events: Collection<AuditEventDocument>;

  constructor(events: Collection<AuditEventDocument>) {
    this.#events = events;
  }

  async append(event: AuditEvent): Promise<void> {
    await reportingDuplicates(() => this.#events.insertOne(toDocument(event)), `audit event ${event.id}`);
  }

  async list(organizationId: string, query: AuditListQuery): Promise<AuditEvent[]> {
    const filter: Filter<AuditEventDocument> = { organizationId };
    if (query.keyId !== undefined) filter.keyId = query.keyId;
    if (query.action !== undefined) filter.action = query.action;
    if (query.actorUserId !== undefined) filter.actorUserId = query.actorUserId;
    if (query.actorKeyId !== undefined) filter.actorKeyId = query.actorKeyId;
    if (query.occurredFrom !== undefined || query.occurredBefore !== undefined) {
      filter.occurredAt = {
        ...(query.occurredFrom !== undefined && { $gte: query.occurredFrom }),
        ...(query.occurredBefore !== undefined && { $lt: query.occurredBefore }),
      };
    }
    if (query.beforeId !== undefined) filter._id = { $lt: query.beforeId };
    const docs = await this.#events.find(filter).sort({ _id: -1 }).limit(query.limit).toArray();
    return docs.map(toRecord);
  }
}
