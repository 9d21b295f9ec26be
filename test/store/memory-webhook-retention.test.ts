import { describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { WEBHOOK_RETENTION_MS } from "../../src/store/webhook-retention.js";
import { anEndpoint, anEvent } from "./contract/webhook-fixtures.js";

/** The embedded outbox forgets what is older than the retention as newer is written, as MongoDB's TTL indexes do. */
describe("the embedded store's webhook outbox", () => {
  it("forgets events and deliveries older than the retention once newer ones are written", async () => {
    const store = new MemoryStore();
    const org = newId("org");
    const endpoint = anEndpoint(org);
    await store.webhooks.createEndpoint(endpoint, { maxPerOrganization: 20 });
    const start = new Date("2031-01-01T00:00:00.000Z");
    const old = anEvent(org, "key.created", start);
    const [oldDelivery] = (await store.webhooks.enqueue(old))!;
    const kept = anEvent(org, "key.created", new Date(start.getTime() + WEBHOOK_RETENTION_MS));
    const [keptDelivery] = (await store.webhooks.enqueue(kept))!;
    // Exactly the retention apart: both still there.
    expect((await store.webhooks.listDeliveries(org, endpoint.id, { limit: 10 })).map(({ id }) => id)).toEqual([keptDelivery!.id, oldDelivery!.id]);
    expect(await store.webhooks.enqueue(old)).toBeNull();

    const [newest] = (await store.webhooks.enqueue(anEvent(org, "key.created", new Date(start.getTime() + WEBHOOK_RETENTION_MS + 1))))!;
    expect((await store.webhooks.listDeliveries(org, endpoint.id, { limit: 10 })).map(({ id }) => id)).toEqual([newest!.id, keptDelivery!.id]);
    expect(await store.webhooks.findDelivery(org, oldDelivery!.id)).toBeNull();
    expect(await store.webhooks.backlog()).toEqual({ pending: 2, oldestCreatedAt: kept.occurredAt });
    expect(await store.webhooks.enqueue(kept)).toBeNull();
    expect(await store.webhooks.enqueue(old)).toHaveLength(1);
  });

  it("remembers an event's id until its rememberUntil when that is later than the retention", async () => {
    const store = new MemoryStore();
    const org = newId("org");
    await store.webhooks.createEndpoint(anEndpoint(org), { maxPerOrganization: 20 });
    const start = new Date("2032-01-01T00:00:00.000Z");
    const warning = { ...anEvent(org, "key.expiring", start), rememberUntil: new Date(start.getTime() + 4 * WEBHOOK_RETENTION_MS) };
    expect(await store.webhooks.enqueue(warning)).toHaveLength(1);
    // Written much later, newer events sweep the outbox past the warning's occurrence.
    for (const multiple of [2, 3]) await store.webhooks.enqueue(anEvent(org, "key.created", new Date(start.getTime() + multiple * WEBHOOK_RETENTION_MS)));
    expect(await store.webhooks.enqueue({ ...warning, occurredAt: new Date(start.getTime() + 3 * WEBHOOK_RETENTION_MS) })).toBeNull();
    // Past its rememberUntil it is forgotten like any other.
    for (let i = 0; i < 70; i++) await store.webhooks.enqueue({ ...anEvent(org, "key.created", new Date(start.getTime() + 5 * WEBHOOK_RETENTION_MS)), rememberUntil: new Date(start.getTime() + 9 * WEBHOOK_RETENTION_MS) });
    expect(await store.webhooks.enqueue({ ...warning, occurredAt: new Date(start.getTime() + 5 * WEBHOOK_RETENTION_MS) })).toHaveLength(1);
  });
});
