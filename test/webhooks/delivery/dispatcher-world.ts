import { Registry } from "prom-client";
import { AuditTrail } from "../../../src/audit/audit-trail.js";
import { SigningSecretSealing } from "../../../src/crypto/signing-secret-sealing.js";
import { createLogger } from "../../../src/log/logger.js";
import { newId } from "../../../src/model/ids.js";
import type { WebhookDeliveryRecord, WebhookEndpointRecord, WebhookEventType } from "../../../src/model/webhooks.js";
import { MemoryStore } from "../../../src/store/memory/memory-store.js";
import type { Store } from "../../../src/store/store.js";
import { ManualClock } from "../../../src/time/clock.js";
import { newSigningSecret } from "../../../src/webhooks/signing-secret.js";
import { WebhookDispatcher } from "../../../src/webhooks/webhook-dispatcher.js";
import { webhookEvent } from "../../../src/webhooks/webhook-event.js";
import { webhookMetrics, type WebhookDeliveryObserver } from "../../../src/webhooks/webhook-metrics.js";
import { WebhookSender, type WebhookSenderOptions } from "../../../src/webhooks/webhook-sender.js";

export const PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";
export const ORG = "org_01HZX3K4M5N6P7Q8R9S0T1V2W3";

/**
 * Dispatchers over one store (the memory store unless another is given), a manual clock (which starts at the real time, since
 * standardwebhooks' verify compares timestamps with it), a real sender, the app's audit trail,
 * metrics in a registry of its own, and every log line captured. Retries wait exactly the
 * schedule's delays (no jitter).
 */
export class DispatcherWorld {
  readonly clock = new ManualClock(Date.now());
  readonly sealing = new SigningSecretSealing(PEPPER);
  readonly registry = new Registry();
  readonly logLines: string[] = [];
  readonly logger = createLogger("trace", { write: (line: string) => void this.logLines.push(line) });
  readonly audit: AuditTrail;
  readonly metrics: WebhookDeliveryObserver;
  readonly #dispatchers: WebhookDispatcher[] = [];

  constructor(readonly store: Store = new MemoryStore()) {
    this.audit = new AuditTrail(store, this.clock);
    this.metrics = webhookMetrics(this.registry, store.webhooks, this.clock);
  }

  /** A dispatcher; `store` stands for another replica's connection to the same data. */
  dispatcher(sender: Partial<WebhookSenderOptions> = {}, holder?: string, store: Store = this.store): WebhookDispatcher {
    const dispatcher = new WebhookDispatcher({
      store,
      sealing: this.sealing,
      sender: new WebhookSender({ allowInsecure: true, ...sender }),
      audit: new AuditTrail(store, this.clock),
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      random: () => 0.5,
      ...(holder !== undefined && { holder }),
    });
    this.#dispatchers.push(dispatcher);
    return dispatcher;
  }

  /** An endpoint of ORG at `url` and its secret, in the clear. */
  async endpoint(url: string, fields: Partial<WebhookEndpointRecord> = {}): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    const id = newId("whe", this.clock.now());
    const secret = newSigningSecret();
    const now = new Date(this.clock.now());
    const endpoint: WebhookEndpointRecord = {
      id,
      organizationId: ORG,
      url,
      eventTypes: [],
      description: "",
      enabled: true,
      disabledReason: "",
      secret: this.sealing.seal(secret, id),
      failingSince: null,
      createdAt: now,
      updatedAt: now,
      ...fields,
    };
    await this.store.webhooks.createEndpoint(endpoint, { maxPerOrganization: 20 });
    return { endpoint, secret };
  }

  /** Queues an event of ORG; its deliveries (one per endpoint). */
  async enqueue(type: WebhookEventType = "key.created", data: Record<string, unknown> = { key: { id: "key_1" } }): Promise<WebhookDeliveryRecord[]> {
    return (await this.store.webhooks.enqueue(webhookEvent(type, ORG, data, new Date(this.clock.now())))) ?? [];
  }

  async delivery(id: string): Promise<WebhookDeliveryRecord> {
    const delivery = await this.store.webhooks.findDelivery(ORG, id);
    if (!delivery) throw new Error(`no delivery ${id}`);
    return delivery;
  }

  async deliveries(endpointId: string): Promise<WebhookDeliveryRecord[]> {
    return this.store.webhooks.listDeliveries(ORG, endpointId, { limit: 1000 });
  }

  /** Runs a pass and waits for every send it started (and the passes they nudged) to be recorded. */
  async dispatch(dispatcher: WebhookDispatcher): Promise<void> {
    dispatcher.nudge();
    await dispatcher.idle();
  }

  async scrape(): Promise<string> {
    return this.registry.metrics();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#dispatchers.map((d) => d.stop()));
  }
}
