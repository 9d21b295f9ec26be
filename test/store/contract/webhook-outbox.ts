import { beforeAll, describe, expect, it, type TestContext } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { WebhookDeliveryRecord } from "../../../src/model/webhooks.js";
import type { Store } from "../../../src/store/store.js";
import { T1, T2 } from "./fixtures.js";
import { anEndpoint, anEvent, createdEndpoints } from "./webhook-fixtures.js";

/** The webhook outbox: an event queued once, to the endpoints that take it, with the change that caused it. */
export function describeWebhookOutboxContract(getStore: () => Store, unitsRollBack: () => boolean): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  const endpointIds = (deliveries: WebhookDeliveryRecord[] | null) => deliveries?.map(({ endpointId }) => endpointId);

  describe("webhooks: enqueue", () => {
    it("queues one pending delivery, due at once, to each enabled endpoint of the organization that takes the type", async () => {
      const org = newId("org");
      const [all, created, revoked, disabled] = await createdEndpoints(
        store,
        anEndpoint(org),
        anEndpoint(org, { eventTypes: ["key.revoked", "key.created"] }),
        anEndpoint(org, { eventTypes: ["key.revoked"] }),
        anEndpoint(org, { enabled: false }),
      );
      const [elsewhere] = await createdEndpoints(store, anEndpoint(newId("org")));
      const event = anEvent(org, "key.created", T1);
      const deliveries = await store.webhooks.enqueue(event);
      expect(endpointIds(deliveries)).toEqual([all!.id, created!.id]);
      for (const delivery of deliveries!) {
        expect(delivery).toStrictEqual({
          id: expect.stringMatching(/^whd_/),
          organizationId: org,
          endpointId: delivery.endpointId,
          eventId: event.id,
          eventType: "key.created",
          payload: event.payload,
          attempt: 0,
          status: "pending",
          responseCode: 0,
          lastError: "",
          nextAttemptAt: T1,
          createdAt: T1,
          claim: null,
        });
        expect(await store.webhooks.findDelivery(org, delivery.id)).toStrictEqual(delivery);
        expect(await store.webhooks.findDelivery(newId("org"), delivery.id)).toBeNull();
        expect(await store.webhooks.listDeliveries(org, delivery.endpointId, { limit: 10 })).toStrictEqual([delivery]);
      }
      for (const endpoint of [revoked!, disabled!, elsewhere!]) {
        expect(await store.webhooks.listDeliveries(endpoint.organizationId, endpoint.id, { limit: 10 })).toEqual([]);
      }
      expect(await store.webhooks.enqueue(anEvent(newId("org")))).toEqual([]);
    });

    it("queues an event once: a second event with its id writes nothing", async () => {
      const org = newId("org");
      const [endpoint] = await createdEndpoints(store, anEndpoint(org));
      const event = anEvent(org);
      const [delivery] = (await store.webhooks.enqueue(event))!;
      expect(await store.webhooks.enqueue(event)).toBeNull();
      expect(await store.webhooks.enqueue({ ...anEvent(org, "key.revoked", T2), id: event.id })).toBeNull();
      expect(await store.webhooks.listDeliveries(org, endpoint!.id, { limit: 10 })).toStrictEqual([delivery]);
      // An event no endpoint took is written all the same.
      const unheard = anEvent(newId("org"));
      expect(await store.webhooks.enqueue(unheard)).toEqual([]);
      expect(await store.webhooks.enqueue(unheard)).toBeNull();
    });

    it("joins the caller's unit: a unit that fails after queueing leaves neither the event nor its deliveries", async (context: TestContext) => {
      if (!unitsRollBack()) context.skip("this store's units make their writes one by one");
      const org = newId("org");
      const [endpoint] = await createdEndpoints(store, anEndpoint(org));
      const event = anEvent(org);
      await expect(
        store.atomically(async () => {
          expect(endpointIds(await store.webhooks.enqueue(event))).toEqual([endpoint!.id]);
          throw new Error("the change failed");
        }),
      ).rejects.toThrow("the change failed");
      expect(await store.webhooks.listDeliveries(org, endpoint!.id, { limit: 10 })).toEqual([]);
      // Not written: queueing it again queues it.
      expect(endpointIds(await store.webhooks.enqueue(event))).toEqual([endpoint!.id]);
    });

    it("joins the caller's unit: a unit that commits writes the event and its deliveries, queued once in it", async () => {
      const org = newId("org");
      const [endpoint] = await createdEndpoints(store, anEndpoint(org));
      const event = anEvent(org);
      const committed = await store.atomically(async () => {
        const deliveries = await store.webhooks.enqueue(event);
        expect(await store.webhooks.enqueue(event)).toBeNull();
        return deliveries;
      });
      expect(endpointIds(committed)).toEqual([endpoint!.id]);
      expect(await store.webhooks.listDeliveries(org, endpoint!.id, { limit: 10 })).toStrictEqual(committed);
      expect(await store.webhooks.enqueue(event)).toBeNull();
    });
  });

  describe("webhooks: deliver to one endpoint", () => {
    it("queues a new delivery to that endpoint alone whatever its types, writing the event when it was not", async () => {
      const org = newId("org");
      const [subscribed, other] = await createdEndpoints(
        store,
        anEndpoint(org, { eventTypes: ["key.created"] }),
        anEndpoint(org, { eventTypes: ["key.revoked"], enabled: false }),
      );
      const test = anEvent(org, "webhook.test", T1);
      const first = await store.webhooks.deliverTo(org, other!.id, test, T2);
      expect(first).toMatchObject({ endpointId: other!.id, eventId: test.id, eventType: "webhook.test", attempt: 0, status: "pending", nextAttemptAt: T2, createdAt: T2, claim: null });
      // Written: queueing it now queues nothing, though an endpoint takes every type.
      expect(await store.webhooks.enqueue({ ...test, type: "key.created" })).toBeNull();

      const [queued] = (await store.webhooks.enqueue(anEvent(org)))!;
      const again = await store.webhooks.deliverTo(org, subscribed!.id, anEvent(org), T2);
      const redelivered = await store.webhooks.deliverTo(org, subscribed!.id, { ...anEvent(org), id: queued!.eventId }, T2);
      expect(redelivered).toMatchObject({ eventId: queued!.eventId, attempt: 0, status: "pending" });
      expect(redelivered!.id).not.toBe(queued!.id);
      expect((await store.webhooks.listDeliveries(org, subscribed!.id, { limit: 10 })).map(({ id }) => id)).toEqual([redelivered!.id, again!.id, queued!.id]);

      expect(await store.webhooks.deliverTo(org, newId("whe"), anEvent(org), T2)).toBeNull();
      expect(await store.webhooks.deliverTo(newId("org"), subscribed!.id, anEvent(org), T2)).toBeNull();
    });
  });

  describe("webhooks: list deliveries", () => {
    it("lists an endpoint's deliveries newest first, a page at a time, to its organization alone", async () => {
      const org = newId("org");
      const [endpoint] = await createdEndpoints(store, anEndpoint(org));
      const deliveries: WebhookDeliveryRecord[] = [];
      for (let i = 0; i < 5; i++) deliveries.push(...(await store.webhooks.enqueue(anEvent(org)))!);
      const newestFirst = [...deliveries].reverse();
      expect(await store.webhooks.listDeliveries(org, endpoint!.id, { limit: 2 })).toStrictEqual(newestFirst.slice(0, 2));
      expect(await store.webhooks.listDeliveries(org, endpoint!.id, { beforeId: newestFirst[1]!.id, limit: 2 })).toStrictEqual(newestFirst.slice(2, 4));
      expect(await store.webhooks.listDeliveries(org, endpoint!.id, { beforeId: newestFirst[3]!.id, limit: 2 })).toStrictEqual(newestFirst.slice(4));
      expect(await store.webhooks.listDeliveries(org, endpoint!.id, { beforeId: newestFirst[4]!.id, limit: 2 })).toEqual([]);
      expect(await store.webhooks.listDeliveries(newId("org"), endpoint!.id, { limit: 10 })).toEqual([]);
    });
  });
}
