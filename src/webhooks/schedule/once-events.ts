import { LRUCache } from "lru-cache";
import type { WebhookEventType } from "../../model/webhooks.js";
import type { WebhookRepository } from "../../store/store.js";
import { onceWebhookEvent } from "../webhook-event.js";

/**
 * Queues events that must happen once (onceWebhookEvent: their ids are derived from what they
 * are about), remembering which this process already queued or found queued. The store queues an
 * id once whatever happens, across replicas too; this memory only spares it the write (and the
 * reads that make the event's data): the scheduler meets the same key expiring or the same
 * organization over its threshold on every pass, and each would otherwise cost a refused write
 * per pass.
 */

/** What makes the occurrence: the organization, the event type and `once` (onceWebhookEvent's). */
export interface Occurrence {
  type: WebhookEventType;
  organizationId: string;
  once: string;
  /** Until when it may be found again, when longer than the outbox's retention (WebhookEvent.rememberUntil). */
  rememberUntil?: Date;
}

export class OnceEvents {
  readonly #webhooks: Pick<WebhookRepository, "enqueue">;
  readonly #known: LRUCache<string, true>;

  constructor(webhooks: Pick<WebhookRepository, "enqueue">, options: { remember?: number } = {}) {
    this.#webhooks = webhooks;
    this.#known = new LRUCache<string, true>({ max: options.remember ?? 50_000 });
  }

  /**
   * Queues the occurrence's event unless this process knows it is queued; `data` is asked for
   * only then, and may answer null (what the event is about is gone: nothing is queued). True
   * when this call queued it; false when it was queued before (here, or by another replica).
   */
  async enqueue(occurrence: Occurrence, nowMs: number, data: () => Promise<Record<string, unknown> | null> | Record<string, unknown>): Promise<boolean> {
    const { type, organizationId, once, rememberUntil } = occurrence;
    const known = `${organizationId}\0${type}\0${once}`;
    if (this.#known.has(known)) return false;
    const fields = await data();
    if (fields === null) return false;
    const deliveries = await this.#webhooks.enqueue(onceWebhookEvent(type, organizationId, once, fields, new Date(nowMs), rememberUntil));
    this.#known.set(known, true);
    return deliveries !== null;
  }
}
