import { newId } from "../model/ids.js";
import { redactSecrets, redactSecretValues } from "../model/secret.js";
import type { Store } from "../store/store.js";
import type { AuditEvent } from "../model/records.js";
import type { Clock } from "../time/clock.js";

/**
 * Writes audit events with their id and time; callers say only what happened. Below tenancy and
 * the admin API, which both record here (src/tenancy/bootstrap.ts, src/admin/caller-audit.ts).
 */
export class AuditTrail {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async record(event: Omit<AuditEvent, "id" | "occurredAt">): Promise<AuditEvent> {
    const now = this.clock.now();
    // Entries may quote request values (the key id an operator asked for, before it is looked
    // up): a secret pasted into one never reaches the audit log, which tenants read.
    const full: AuditEvent = {
      ...event,
      keyId: redactSecrets(event.keyId),
      details: redactSecretValues(event.details),
      id: newId("evt", now),
      occurredAt: new Date(now),
    };
    await this.store.audit.append(full);
    return full;
  }
}
