import type { Logger } from "../log/logger.js";
import type { AuditEvent } from "../model/records.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { Caller } from "./caller.js";

/** What a caller did: to which key (if any), in which organization (default: the caller's own). */
export interface CallerEvent {
  action: string;
  keyId?: string;
  /** The organization whose log records it; an operator's actions go to the organization acted on. */
  organizationId?: string;
  details?: Record<string, string>;
}

/** The admin services' audit entries, with the calling key and user as the actor. */
export class CallerAudit {
  constructor(
    private readonly trail: AuditTrail,
    private readonly logger: Logger,
  ) {}

  #event(caller: Caller, event: CallerEvent): Omit<AuditEvent, "id" | "occurredAt"> {
    const organizationId = event.organizationId ?? caller.organization.id;
    const details = { ...event.details };
    // In another organization's log, say where the actor comes from.
    if (organizationId !== caller.organization.id) details["actorOrganizationId"] = caller.organization.id;
    return {
      organizationId,
      action: event.action,
      actorKeyId: caller.key.id,
      actorUserId: caller.user.id,
      keyId: event.keyId ?? "",
      details,
    };
  }

  /**
   * A change that already happened: a failed write must not turn it into an error the client
   * would retry, so it is logged loudly instead.
   */
  async changed(caller: Caller, event: CallerEvent): Promise<void> {
    try {
      await this.trail.record(this.#event(caller, event));
    } catch (error) {
      this.logger.error({ err: error, action: event.action, keyId: event.keyId, organizationId: event.organizationId ?? caller.organization.id }, "audit event not written");
    }
  }

  /**
   * A refusal: on the record, but a failed write must not turn the refusal into another answer
   * (it is logged loudly instead, like `changed`).
   */
  async refused(caller: Caller, event: CallerEvent): Promise<void> {
    await this.changed(caller, event);
  }

  /** Something allowed only on the record (showing a secret, an operator's look): no entry, no answer. */
  async beforehand(caller: Caller, event: CallerEvent): Promise<void> {
    await this.trail.record(this.#event(caller, event));
  }
}
