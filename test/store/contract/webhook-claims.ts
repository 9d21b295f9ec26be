import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { WebhookAttemptOutcome, Store } from "../../../src/store/store.js";
import { anEndpoint, anEvent, createdEndpoints, settleEverythingDue } from "./webhook-fixtures.js";

/** The dispatcher's side of the outbox: claims with a lease, attempts recorded only by the claim's holder. */
export function describeWebhookClaimsContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  const at = (minute: number) => new Date(Date.UTC(2040, 0, 1, 0, minute));
  const retryAt = (minute: number, responseCode = 503): WebhookAttemptOutcome => ({
    status: "pending",
    responseCode,
    lastError: "Service Unavailable",
    nextAttemptAt: at(minute),
  });
  const ids = (records: { id: string }[]) => records.map(({ id }) => id);

  /** Deliveries queued to a fresh endpoint (one per event, occurring at the given minutes), with nothing else due. */
  async function queued(...minutes: number[]) {
    await settleEverythingDue(store);
    const org = newId("org");
    const [endpoint] = await createdEndpoints(store, anEndpoint(org));
    const deliveries = [];
    for (const minute of minutes) deliveries.push(...(await store.webhooks.enqueue(anEvent(org, "key.updated", at(minute))))!);
    return { org, endpoint: endpoint!, deliveries };
  }

  describe("webhooks: claims", () => {
    it("claims pending deliveries due by now, oldest due first, skipping the endpoints named", async () => {
      const { org, endpoint, deliveries } = await queued(5, 1, 3, 30);
      const [other] = await createdEndpoints(store, anEndpoint(org));
      await store.webhooks.deliverTo(org, other!.id, anEvent(org), at(0));
      // Claims held until minute 60, so none lapses within the test.
      expect(await store.webhooks.claimDue("a", at(10), at(60), 2, [other!.id])).toStrictEqual(
        [deliveries[1]!, deliveries[2]!].map((delivery) => ({ ...delivery, claim: { holder: "a", until: at(60) } })),
      );
      expect(ids(await store.webhooks.claimDue("b", at(10), at(60), 10, [other!.id]))).toEqual([deliveries[0]!.id]);
      expect(ids(await store.webhooks.claimDue("b", at(10), at(60), 10, [endpoint.id]))).toEqual(
        ids(await store.webhooks.listDeliveries(org, other!.id, { limit: 1 })),
      );
      expect(await store.webhooks.claimDue("b", at(10), at(60), 10, [])).toEqual([]);
      expect(ids(await store.webhooks.claimDue("b", at(30), at(60), 10, []))).toEqual([deliveries[3]!.id]);
    });

    it("skips the organizations named", async () => {
      const { deliveries } = await queued(1, 2);
      const otherOrg = newId("org");
      const [otherEndpoint] = await createdEndpoints(store, anEndpoint(otherOrg));
      const [other] = (await store.webhooks.enqueue(anEvent(otherOrg, "key.updated", at(3))))!;
      expect(ids(await store.webhooks.claimDue("a", at(10), at(60), 10, [], [deliveries[0]!.organizationId]))).toEqual([other!.id]);
      expect(ids(await store.webhooks.claimDue("a", at(10), at(60), 10, [otherEndpoint!.id], [otherOrg]))).toEqual(ids(deliveries));
    });

    it("never gives two holders claiming at once the same delivery", async () => {
      const { deliveries } = await queued(1, 2, 3, 4, 5, 6, 7);
      const [a, b] = await Promise.all([
        store.webhooks.claimDue("a", at(10), at(11), 5, []),
        store.webhooks.claimDue("b", at(10), at(11), 5, []),
      ]);
      expect(a.every(({ claim }) => claim?.holder === "a") && b.every(({ claim }) => claim?.holder === "b")).toBe(true);
      const claimed = [...ids(a), ...ids(b)];
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.sort()).toEqual(ids(deliveries).sort());
    });

    it("lets another holder take a lapsed claim, and then refuses the first holder's attempt", async () => {
      const { org, deliveries } = await queued(1);
      const id = deliveries[0]!.id;
      expect(ids(await store.webhooks.claimDue("a", at(2), at(3), 10, []))).toEqual([id]);
      expect(await store.webhooks.claimDue("b", at(2), at(3), 10, [])).toEqual([]);
      expect(ids(await store.webhooks.claimDue("b", at(3), at(4), 10, []))).toEqual([id]);
      expect(await store.webhooks.recordAttempt(id, "a", retryAt(5))).toBe(false);
      expect(await store.webhooks.findDelivery(org, id)).toMatchObject({ attempt: 0, claim: { holder: "b", until: at(4) } });

      expect(await store.webhooks.recordAttempt(id, "b", retryAt(8))).toBe(true);
      expect(await store.webhooks.findDelivery(org, id)).toStrictEqual({
        ...deliveries[0]!,
        attempt: 1,
        status: "pending",
        responseCode: 503,
        lastError: "Service Unavailable",
        nextAttemptAt: at(8),
        claim: null,
      });
      // The claim is freed: recorded once, and not due again until the next attempt.
      expect(await store.webhooks.recordAttempt(id, "b", retryAt(9))).toBe(false);
      expect(await store.webhooks.claimDue("a", at(7), at(9), 10, [])).toEqual([]);
      expect(ids(await store.webhooks.claimDue("a", at(8), at(9), 10, []))).toEqual([id]);
    });

    it("claims a delivery no more once it is delivered or has failed for good", async () => {
      const { org, deliveries } = await queued(1, 2);
      await store.webhooks.claimDue("a", at(2), at(3), 10, []);
      expect(await store.webhooks.recordAttempt(deliveries[0]!.id, "a", { status: "delivered", responseCode: 204, lastError: "", nextAttemptAt: at(2) })).toBe(true);
      expect(await store.webhooks.recordAttempt(deliveries[1]!.id, "a", { status: "failed", responseCode: 0, lastError: "connection refused", nextAttemptAt: at(2) })).toBe(true);
      expect(await store.webhooks.claimDue("b", at(50), at(51), 10, [])).toEqual([]);
      expect(await store.webhooks.findDelivery(org, deliveries[1]!.id)).toMatchObject({ attempt: 1, status: "failed", responseCode: 0, lastError: "connection refused", claim: null });
    });

    it("reports the backlog: pending deliveries and when the oldest was created", async () => {
      const { deliveries } = await queued(4, 2, 6);
      expect(await store.webhooks.backlog()).toEqual({ pending: 3, oldestCreatedAt: at(2) });
      await store.webhooks.claimDue("a", at(2), at(3), 1, []);
      await store.webhooks.recordAttempt(deliveries[1]!.id, "a", { status: "delivered", responseCode: 200, lastError: "", nextAttemptAt: at(2) });
      expect(await store.webhooks.backlog()).toEqual({ pending: 2, oldestCreatedAt: at(4) });
      await settleEverythingDue(store);
      expect(await store.webhooks.backlog()).toEqual({ pending: 0, oldestCreatedAt: null });
    });
  });
}
