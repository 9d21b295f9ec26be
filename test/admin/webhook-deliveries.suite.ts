import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { WebhookDeliveryStatus } from "../../gen/keygate/v1/key_admin_pb.js";
import { MAX_PENDING_ON_DEMAND } from "../../src/admin/webhooks/webhook-lookups.js";
import { webhookEvent } from "../../src/webhooks/webhook-event.js";
import { failure, text } from "./answers.js";
import type { StoreMaker } from "./clients.js";
import { webhookServiceOn, type WebhookService } from "./webhook-service.js";

/**
 * Test events, redeliveries and the list of an endpoint's deliveries, through the whole
 * KeyAdminService: what each queues in the store's outbox, paging, and the organization's
 * boundary.
 */

const RECEIVER = "https://hooks.example.com/keygate";

export function describeWebhookDeliveries(storeName: string, makeStore: StoreMaker): void {
  describe(`webhook deliveries on the ${storeName} store`, () => {
    let s: WebhookService;
    webhookServiceOn(makeStore, { allowInsecureTargets: false }, (service) => (s = service));

    async function withEndpoint() {
      const made = await s.organization();
      const created = await made.owner.createWebhookEndpoint({ url: RECEIVER, eventTypes: ["key.revoked"] });
      return { ...made, endpoint: created.endpoint!, secret: created.signingSecret };
    }

    describe("SendTestWebhook", () => {
      it("queues a webhook.test event for the endpoint alone, whatever types it takes, and answers its pending delivery", async () => {
        const { org, owner, endpoint, secret } = await withEndpoint();
        const { endpoint: other } = await owner.createWebhookEndpoint({ url: `${RECEIVER}/other` });
        const { delivery } = await owner.sendTestWebhook({ id: endpoint.id });
        expect(delivery).toMatchObject({ endpointId: endpoint.id, eventType: "webhook.test", attempt: 0, status: WebhookDeliveryStatus.PENDING, responseCode: 0, lastError: "" });
        expect(delivery!.id).toMatch(/^whd_/);
        expect(delivery!.eventId).toMatch(/^msg_/);

        const stored = (await s.store.webhooks.findDelivery(org.organization.id, delivery!.id))!;
        const body = JSON.parse(stored.payload) as { type: string; data: Record<string, unknown> };
        expect(body.type).toBe("webhook.test");
        expect(body.data).toEqual({ endpoint: { id: endpoint.id }, actor: { key_id: org.key.id, user_id: org.owner.id } });
        expect(stored.payload).not.toContain(secret.slice("whsec_".length));
        expect((await owner.listWebhookDeliveries({ endpointId: other!.id })).deliveries).toEqual([]);

        const [entry] = (await owner.listAuditEvents({ pageSize: 10 })).events.filter((e) => e.action === "webhook.test");
        expect(entry!.details).toEqual({ endpointId: endpoint.id, target: "https://hooks.example.com", eventId: delivery!.eventId, deliveryId: delivery!.id });
      });

      it("refuses a disabled endpoint (its deliveries would fail unsent) with failed_precondition", async () => {
        const { owner, endpoint } = await withEndpoint();
        await owner.updateWebhookEndpoint({ id: endpoint.id, enabled: false });
        expect(await failure(owner.sendTestWebhook({ id: endpoint.id }))).toMatchObject({ code: Code.FailedPrecondition, field: "id" });
        expect((await owner.listWebhookDeliveries({ endpointId: endpoint.id })).deliveries).toEqual([]);
      });
    });

    describe("deliveries on demand are bounded", () => {
      it("past 100 pending deliveries an endpoint takes no test and no redelivery (resource_exhausted), and nothing is queued", async () => {
        const { org, owner, endpoint } = await withEndpoint();
        const { delivery: first } = await owner.sendTestWebhook({ id: endpoint.id });
        const now = new Date();
        for (let i = 1; i < MAX_PENDING_ON_DEMAND; i++) {
          await s.store.webhooks.deliverTo(org.organization.id, endpoint.id, webhookEvent("webhook.test", org.organization.id, {}, now), now);
        }
        expect(await failure(owner.sendTestWebhook({ id: endpoint.id }))).toMatchObject({ code: Code.ResourceExhausted, reason: "WEBHOOK_PENDING_LIMIT_EXCEEDED", field: "id" });
        expect(await failure(owner.redeliverWebhook({ deliveryId: first!.id }))).toMatchObject({ code: Code.ResourceExhausted, reason: "WEBHOOK_PENDING_LIMIT_EXCEEDED", field: "delivery_id" });
        expect(await s.store.webhooks.countPending(org.organization.id, endpoint.id)).toBe(MAX_PENDING_ON_DEMAND);
        // Another organization's pending deliveries are not this endpoint's.
        const other = await withEndpoint();
        expect((await other.owner.sendTestWebhook({ id: other.endpoint.id })).delivery).toBeDefined();
      });
    });

    describe("ListWebhookDeliveries", () => {
      it("lists an endpoint's deliveries newest first, a page at a time", async () => {
        const { owner, endpoint } = await withEndpoint();
        const sent: string[] = [];
        for (let i = 0; i < 5; i++) sent.push((await owner.sendTestWebhook({ id: endpoint.id })).delivery!.id);
        const seen: string[] = [];
        let pageToken = "";
        let pages = 0;
        do {
          const page = await owner.listWebhookDeliveries({ endpointId: endpoint.id, pageSize: 2, pageToken });
          expect(page.deliveries.length).toBeLessThanOrEqual(2);
          seen.push(...page.deliveries.map((d) => d.id));
          pageToken = page.nextPageToken;
          pages++;
        } while (pageToken);
        expect(pages).toBe(3);
        expect(seen).toEqual([...sent].reverse());
      });

      it("gives 20 a page when page_size is 0", async () => {
        const { owner, endpoint } = await withEndpoint();
        for (let i = 0; i < 21; i++) await owner.sendTestWebhook({ id: endpoint.id });
        const page = await owner.listWebhookDeliveries({ endpointId: endpoint.id });
        expect(page.deliveries).toHaveLength(20);
        expect(page.nextPageToken).not.toBe("");
      });

      it("refuses a page token issued for another endpoint, or altered", async () => {
        const { owner, endpoint } = await withEndpoint();
        const { endpoint: second } = await owner.createWebhookEndpoint({ url: `${RECEIVER}/2` });
        for (let i = 0; i < 2; i++) await owner.sendTestWebhook({ id: endpoint.id });
        const { nextPageToken } = await owner.listWebhookDeliveries({ endpointId: endpoint.id, pageSize: 1 });
        expect(await failure(owner.listWebhookDeliveries({ endpointId: second!.id, pageToken: nextPageToken }))).toMatchObject({ code: Code.InvalidArgument, field: "page_token" });
        expect(await failure(owner.listWebhookDeliveries({ endpointId: endpoint.id, pageToken: `${nextPageToken}x` }))).toMatchObject({ code: Code.InvalidArgument, field: "page_token" });
      });

      it.each([
        ["a page size over 100", { pageSize: 101 }, "page_size", Code.InvalidArgument],
        ["a negative page size", { pageSize: -1 }, "page_size", Code.InvalidArgument],
        ["no endpoint", { endpointId: "" }, "endpoint_id", Code.InvalidArgument],
        ["an unknown endpoint", { endpointId: "whe_01ABCDEFGHJKMNPQRSTVWXYZ01" }, "endpoint_id", Code.NotFound],
      ])("refuses %s naming the field", async (_case, request, field, code) => {
        const { owner, endpoint } = await withEndpoint();
        expect(await failure(owner.listWebhookDeliveries({ endpointId: endpoint.id, ...request }))).toMatchObject({ code, field });
      });
    });

    describe("RedeliverWebhook", () => {
      it("sends the delivery's event again as a new delivery: the same event id and the same bytes", async () => {
        const { org, owner, endpoint } = await withEndpoint();
        // An event as a key change queues it, to the endpoint that takes its type.
        const event = webhookEvent("key.revoked", org.organization.id, { key: { id: org.key.id } }, new Date(s.clock.now()));
        const [queued] = (await s.store.webhooks.enqueue(event))!;
        const { delivery } = await owner.redeliverWebhook({ deliveryId: queued!.id });
        expect(delivery).toMatchObject({ endpointId: endpoint.id, eventId: event.id, eventType: "key.revoked", attempt: 0, status: WebhookDeliveryStatus.PENDING });
        expect(delivery!.id).not.toBe(queued!.id);
        expect((await s.store.webhooks.findDelivery(org.organization.id, delivery!.id))!.payload).toBe(event.payload);
        expect((await owner.listWebhookDeliveries({ endpointId: endpoint.id })).deliveries.map((d) => d.id)).toEqual([delivery!.id, queued!.id]);
        const [entry] = (await owner.listAuditEvents({ pageSize: 10 })).events.filter((e) => e.action === "webhook.redeliver");
        expect(entry!.details).toEqual({ endpointId: endpoint.id, target: "https://hooks.example.com", eventId: event.id, deliveryId: delivery!.id, redeliveryOf: queued!.id });
      });

      it("refuses a delivery whose endpoint was deleted (not found) or disabled (failed_precondition), naming delivery_id", async () => {
        const { owner, endpoint } = await withEndpoint();
        const { delivery } = await owner.sendTestWebhook({ id: endpoint.id });
        await owner.updateWebhookEndpoint({ id: endpoint.id, enabled: false });
        expect(await failure(owner.redeliverWebhook({ deliveryId: delivery!.id }))).toMatchObject({ code: Code.FailedPrecondition, field: "delivery_id" });
        await owner.deleteWebhookEndpoint({ id: endpoint.id });
        expect(await failure(owner.redeliverWebhook({ deliveryId: delivery!.id }))).toMatchObject({ code: Code.NotFound, field: "delivery_id" });
      });

      it("answers another organization's delivery exactly as a missing one", async () => {
        const { owner } = await withEndpoint();
        const other = await withEndpoint();
        const { delivery: theirs } = await other.owner.sendTestWebhook({ id: other.endpoint.id });
        const missing = "whd_01ABCDEFGHJKMNPQRSTVWXYZ01";
        const forTheirs = await failure(owner.redeliverWebhook({ deliveryId: theirs!.id }));
        const forMissing = await failure(owner.redeliverWebhook({ deliveryId: missing }));
        expect(forTheirs).toMatchObject({ code: Code.NotFound, reason: "WEBHOOK_DELIVERY_NOT_FOUND", field: "delivery_id" });
        expect({ ...forTheirs, message: forTheirs.message.replace(theirs!.id, missing) }).toEqual(forMissing);
        expect((await other.owner.listWebhookDeliveries({ endpointId: other.endpoint.id })).deliveries.map((d) => d.id)).toEqual([theirs!.id]);
        expect(await failure(owner.redeliverWebhook({ deliveryId: "" }))).toMatchObject({ code: Code.InvalidArgument, field: "delivery_id" });
      });
    });

    it("keeps every secret out of the delivery answers and the log", async () => {
      const { owner, endpoint, secret } = await withEndpoint();
      const { delivery } = await owner.sendTestWebhook({ id: endpoint.id });
      const rotated = (await owner.rotateWebhookSecret({ id: endpoint.id })).signingSecret;
      const answers = text([await owner.listWebhookDeliveries({ endpointId: endpoint.id }), await owner.redeliverWebhook({ deliveryId: delivery!.id })]);
      for (const shown of [secret, rotated]) {
        expect(answers).not.toContain(shown.slice("whsec_".length));
        expect(s.logs.join("")).not.toContain(shown.slice("whsec_".length));
      }
    });
  });
}
