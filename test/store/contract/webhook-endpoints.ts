import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { Store } from "../../../src/store/store.js";
import { T1, T2 } from "./fixtures.js";
import { anEndpoint, anEvent, createdEndpoints, settleEverythingDue } from "./webhook-fixtures.js";

/** Webhook endpoints: created, found, listed, changed and deleted, each organization only its own. */
export function describeWebhookEndpointsContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  describe("webhooks: endpoints", () => {
    it("creates, finds and lists an organization's endpoints in id order, exactly as given", async () => {
      const org = newId("org");
      const [first, second] = await createdEndpoints(
        store,
        anEndpoint(org, { eventTypes: ["key.created", "key.revoked"], description: "billing" }),
        anEndpoint(org, { previousSecret: { secret: { nonce: "b2xk", ciphertext: "b2xkIHNlY3JldA" }, expiresAt: T2 }, failingSince: T1 }),
      );
      await createdEndpoints(store, anEndpoint(newId("org")));
      expect(await store.webhooks.findEndpoint(org, first!.id)).toStrictEqual(first);
      expect(await store.webhooks.findEndpoint(org, second!.id)).toStrictEqual(second);
      expect(await store.webhooks.listEndpoints(org)).toStrictEqual([first, second]);
      expect(await store.webhooks.listEndpoints(newId("org"))).toEqual([]);
      await expect(store.webhooks.createEndpoint(first!)).rejects.toThrow(/duplicate/);
    });

    it("changes only the fields given, and never another organization's endpoint", async () => {
      const org = newId("org");
      const [endpoint] = await createdEndpoints(store, anEndpoint(org, { eventTypes: ["key.created"] }));
      expect(await store.webhooks.updateEndpoint(newId("org"), endpoint!.id, { enabled: false }, T1)).toBeNull();
      expect(await store.webhooks.updateEndpoint(org, newId("whe"), { enabled: false }, T1)).toBeNull();
      const disabled = { ...endpoint!, enabled: false, disabledReason: "failing for 5 days", failingSince: T1, updatedAt: T2 };
      expect(
        await store.webhooks.updateEndpoint(org, endpoint!.id, { enabled: false, disabledReason: "failing for 5 days", failingSince: T1 }, T2),
      ).toStrictEqual(disabled);
      const rotated = {
        ...disabled,
        url: "https://other.example.com/in",
        eventTypes: [],
        secret: { nonce: "bmV3", ciphertext: "bmV3IHNlY3JldA" },
        previousSecret: { secret: endpoint!.secret, expiresAt: T2 },
        failingSince: null,
      };
      const patch = { url: rotated.url, eventTypes: [], secret: rotated.secret, previousSecret: rotated.previousSecret, failingSince: null };
      expect(await store.webhooks.updateEndpoint(org, endpoint!.id, patch, T2)).toStrictEqual(rotated);
      expect(await store.webhooks.findEndpoint(org, endpoint!.id)).toStrictEqual(rotated);
    });

    it("deletes an endpoint, failing its pending deliveries and keeping those that ended", async () => {
      await settleEverythingDue(store);
      const org = newId("org");
      const [endpoint, kept] = await createdEndpoints(store, anEndpoint(org), anEndpoint(org));
      const [settled] = (await store.webhooks.enqueue(anEvent(org)))!;
      const [claimed] = await store.webhooks.claimDue("deleter", T2, new Date(T2.getTime() + 60_000), 100, [kept!.id]);
      expect(claimed?.id).toBe(settled!.id);
      await store.webhooks.recordAttempt(settled!.id, "deleter", { status: "delivered", responseCode: 200, lastError: "", nextAttemptAt: T2 });
      await store.webhooks.enqueue(anEvent(org));
      const pendingBefore = await store.webhooks.listDeliveries(org, endpoint!.id, { limit: 10 });

      expect(await store.webhooks.deleteEndpoint(newId("org"), endpoint!.id, T2)).toBe(false);
      expect(await store.webhooks.findEndpoint(org, endpoint!.id)).not.toBeNull();
      expect(await store.webhooks.deleteEndpoint(org, endpoint!.id, T2)).toBe(true);
      expect(await store.webhooks.deleteEndpoint(org, endpoint!.id, T2)).toBe(false);
      expect(await store.webhooks.findEndpoint(org, endpoint!.id)).toBeNull();
      expect(await store.webhooks.listEndpoints(org)).toStrictEqual([kept]);

      const after = await store.webhooks.listDeliveries(org, endpoint!.id, { limit: 10 });
      expect(after.map(({ status, lastError }) => ({ status, lastError }))).toEqual([
        { status: "failed", lastError: "endpoint deleted" },
        { status: "delivered", lastError: "" },
      ]);
      expect(after.map(({ id }) => id)).toEqual(pendingBefore.map(({ id }) => id));
      // The other endpoint's delivery of the same event is still pending.
      expect((await store.webhooks.listDeliveries(org, kept!.id, { limit: 10 })).map(({ status }) => status)).toEqual(["pending", "pending"]);
      expect(await store.webhooks.deliverTo(org, endpoint!.id, anEvent(org), T2)).toBeNull();
    });
  });
}
