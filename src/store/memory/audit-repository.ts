import type { AuditListQuery, AuditRepository } from "../store.js";
import type { AuditEvent } from "../../model/records.js";
import { copy } from "./copy.js";

export class MemoryAuditRepository implements AuditRepository {
  readonly #byOrganization = new Map<string, AuditEvent[]>();

  async append(event: AuditEvent): Promise<void> {
    let events = this.#byOrganization.get(event.organizationId);
    if (!events) this.#byOrganization.set(event.organizationId, (events = []));
    insertSortedEvent(events, copy(event));
  }

  async list(organizationId: string, query: AuditListQuery): Promise<AuditEvent[]> {
    const events = this.#byOrganization.get(organizationId) ?? [];
    const page: AuditEvent[] = [];
    for (let i = events.length - 1; i >= 0 && page.length < query.limit; i--) {
      const event = events[i]!;
      if (query.beforeId !== undefined && event.id >= query.beforeId) continue;
      if (matches(event, query)) page.push(copy(event));
    }
    return page;
  }
}

function matches(event: AuditEvent, query: AuditListQuery): boolean {
  return (
    (query.keyId === undefined || event.keyId === query.keyId) &&
    (query.action === undefined || event.action === query.action) &&
    (query.actorUserId === undefined || event.actorUserId === query.actorUserId) &&
    (query.actorKeyId === undefined || event.actorKeyId === query.actorKeyId) &&
    (query.occurredFrom === undefined || event.occurredAt >= query.occurredFrom) &&
    (query.occurredBefore === undefined || event.occurredAt < query.occurredBefore)
  );
}

function insertSortedEvent(events: AuditEvent[], event: AuditEvent): void {
  let i = events.length;
  while (i > 0 && events[i - 1]!.id > event.id) i--;
  events.splice(i, 0, event);
}
