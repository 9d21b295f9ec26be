import { newId } from "../../../src/model/ids.js";
import type { WebhookEndpointRecord, WebhookEvent, WebhookEventType } from "../../../src/model/webhooks.js";
import type { Store } from "../../../src/store/store.js";
import { T0 } from "../../support/records.js";

/** What the webhook parts of the store contract share: endpoints, events, and a store with nothing due. */

export function anEndpoint(organizationId: string, fields: Partial<WebhookEndpointRecord> = {}): WebhookEndpointRecord {
  return {
    id: newId("whe"),
    organizationId,
    url: "https://hooks.example.com/keygate",
    eventTypes: [],
    description: "",
    enabled: true,
    disabledReason: "",
    secret: { nonce: "bm9uY2U", ciphertext: "Y2lwaGVydGV4dA" },
    failingSince: null,
    createdAt: T0,
    updatedAt: T0,
    ...fields,
  };
}

export function anEvent(organizationId: string, type: WebhookEventType = "key.created", occurredAt: Date = T0): WebhookEvent {
  const id = newId("msg");
  return { id, organizationId, type, occurredAt, payload: JSON.stringify({ type, timestamp: occurredAt.toISOString(), data: { id } }) };
}

/** The most endpoints an organization may hold in the contract (keygate's own limit). */
export const MAX_ENDPOINTS = 20;

/** Endpoints created through the store, as given. */
export async function createdEndpoints(store: Store, ...endpoints: WebhookEndpointRecord[]): Promise<WebhookEndpointRecord[]> {
  for (const endpoint of endpoints) {
    if ((await store.webhooks.createEndpoint(endpoint, { maxPerOrganization: MAX_ENDPOINTS })) !== "created") throw new Error("endpoint limit reached");
  }
  return endpoints;
}

/** Long after every time the contract uses. */
export const FAR_FUTURE = new Date("2099-01-01T00:00:00.000Z");

/**
 * Settles every delivery due by FAR_FUTURE (as delivered), so what a test claims next is only
 * what it queued itself: one store serves the whole contract, and the claim serves every
 * organization.
 */
export async function settleEverythingDue(store: Store): Promise<void> {
  for (;;) {
    const claimed = await store.webhooks.claimDue("settler", FAR_FUTURE, new Date(FAR_FUTURE.getTime() + 60_000), 100, []);
    if (claimed.length === 0) return;
    for (const { id } of claimed) {
      await store.webhooks.recordAttempt(id, "settler", { status: "delivered", responseCode: 204, lastError: "", nextAttemptAt: FAR_FUTURE });
    }
  }
}
