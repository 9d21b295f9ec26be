import { newId } from "../keys/ids.js";
import type { Store } from "../store/store.js";
import type { AuditEvent } from "../store/types.js";
import type { Clock } from "../time/clock.js";

/** Writes audit events with their id and time; callers say only what happened. */
export class AuditTrail {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async record(event: Omit<AuditEvent, "id" | "occurredAt">): Promise<AuditEvent> {
    const now = this.clock.now();
    const full: AuditEvent = { ...event, id: newId("evt", now), occurredAt: new Date(now) };
    await this.store.audit.append(full);
    return full;
  }
}
