import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/time/clock.js";
import { webhookMetrics } from "../../../src/webhooks/webhook-metrics.js";

describe("webhookMetrics", () => {
  it("counts attempts by outcome, every outcome present from the start", async () => {
    const registry = new Registry();
    const observer = webhookMetrics(registry, { backlog: async () => ({ pending: 0, oldestCreatedAt: null }) }, new ManualClock());
    expect(await registry.metrics()).toContain('keygate_webhook_deliveries_total{outcome="failed"} 0');
    observer.attempted("delivered");
    observer.attempted("delivered");
    observer.attempted("retrying");
    const text = await registry.metrics();
    expect(text).toContain('keygate_webhook_deliveries_total{outcome="delivered"} 2');
    expect(text).toContain('keygate_webhook_deliveries_total{outcome="retrying"} 1');
    expect(text).toContain('keygate_webhook_deliveries_total{outcome="failed"} 0');
  });

  it("reads the queue's depth and its oldest delivery's age from the store at each scrape, once per scrape", async () => {
    const clock = new ManualClock();
    const registry = new Registry();
    let reads = 0;
    let backlog: { pending: number; oldestCreatedAt: Date | null } = { pending: 3, oldestCreatedAt: new Date(clock.now() - 90_000) };
    webhookMetrics(registry, { backlog: async () => (reads++, backlog) }, clock);

    let text = await registry.metrics();
    expect(text).toContain("keygate_webhook_queue_depth 3");
    expect(text).toContain("keygate_webhook_oldest_undelivered_age_seconds 90");
    expect(reads).toBe(1);

    backlog = { pending: 0, oldestCreatedAt: null };
    text = await registry.metrics();
    expect(text).toContain("keygate_webhook_queue_depth 0");
    expect(text).toContain("keygate_webhook_oldest_undelivered_age_seconds 0");
    expect(reads).toBe(2);
  });

  it("keeps the last figures when the store cannot be read, and the scrape still succeeds", async () => {
    const registry = new Registry();
    let fail = false;
    webhookMetrics(registry, { backlog: async () => { if (fail) throw new Error("store down"); return { pending: 5, oldestCreatedAt: null }; } }, new ManualClock());
    await registry.metrics();
    fail = true;
    expect(await registry.metrics()).toContain("keygate_webhook_queue_depth 5");
  });
});
