import { Counter, Gauge, type Registry } from "prom-client";
import type { Clock } from "../time/clock.js";

/**
 * Webhook delivery's metrics, in the registry given (the app's): attempts by outcome, counted as
 * the dispatcher records them, and the outbox's depth and the age of its oldest undelivered
 * delivery, read from the store when Prometheus scrapes (the outbox is shared by every replica,
 * so each replica reports the same figures). No endpoint, URL or organization is a label.
 */

/** What one recorded attempt came to: delivered (2xx), retrying (failed, tried again later), failed (for good). */
export type DeliveryOutcome = "delivered" | "retrying" | "failed";

export interface WebhookDeliveryObserver {
  attempted(outcome: DeliveryOutcome): void;
}

export interface WebhookBacklogSource {
  backlog(): Promise<{ pending: number; oldestCreatedAt: Date | null }>;
}

const OUTCOMES: readonly DeliveryOutcome[] = ["delivered", "retrying", "failed"];

export function webhookMetrics(registry: Registry, outbox: WebhookBacklogSource, clock: Clock): WebhookDeliveryObserver {
  const registers = [registry];
  const deliveries = new Counter({
    name: "keygate_webhook_deliveries_total",
    help: "Webhook delivery attempts by outcome: delivered (2xx), retrying (failed, to be tried again) or failed (given up, or the endpoint is gone or disabled).",
    labelNames: ["outcome"] as const,
    registers,
  });
  for (const outcome of OUTCOMES) deliveries.inc({ outcome }, 0);

  // Both gauges are collected in the same scrape: they share one read of the store.
  let reading: Promise<{ pending: number; oldestAgeSeconds: number }> | undefined;
  const read = () => {
    reading ??= outbox
      .backlog()
      .then(({ pending, oldestCreatedAt }) => ({ pending, oldestAgeSeconds: oldestCreatedAt ? Math.max(0, (clock.now() - oldestCreatedAt.getTime()) / 1000) : 0 }))
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  // A read that fails leaves the last figures (the store's own metrics count the failure).
  const ignoreFailure = () => undefined;
  new Gauge({
    name: "keygate_webhook_queue_depth",
    help: "Webhook deliveries pending (not yet delivered or given up), across all replicas.",
    registers,
    async collect() {
      const figures = await read().catch(ignoreFailure);
      if (figures) this.set(figures.pending);
    },
  });
  new Gauge({
    name: "keygate_webhook_oldest_undelivered_age_seconds",
    help: "Age of the oldest pending webhook delivery; 0 when none is pending.",
    registers,
    async collect() {
      const figures = await read().catch(ignoreFailure);
      if (figures) this.set(figures.oldestAgeSeconds);
    },
  });

  return {
    attempted(outcome) {
      deliveries.inc({ outcome });
    },
  };
}
