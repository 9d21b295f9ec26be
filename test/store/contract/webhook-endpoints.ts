import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { Store } from "../../../src/store/store.js";
import { T1, T2 } from "./fixtures.js";
import { anEndpoint, anEvent, createdEndpoints, MAX_ENDPOINTS, settleEverythingDue } from "./webhook-fixtures.js";

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
      await expect(store.webhooks.createEndpoint(first!, { maxPerOrganization: MAX_ENDPOINTS })).rejects.toThrow(/duplicate/);
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
      const changed = { ...disabled, url: "https://other.example.com/in", eventTypes: [], failingSince: null };
      expect(await store.webhooks.updateEndpoint(org, endpoint!.id, { url: changed.url, eventTypes: [], failingSince: null }, T2)).toStrictEqual(changed);
      expect(await store.webhooks.findEndpoint(org, endpoint!.id)).toStrictEqual(changed);
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

  describe("webhooks: endpoints written at once", () => {
    const newSecret = (name: string) => ({ nonce: `bm9uY2Ut${name}`, ciphertext: `Y2lwaGVy-${name}` });
    const limits = { maxPerOrganization: MAX_ENDPOINTS };

    it("creates an endpoint only while its organization holds fewer than the limit; a deleted one frees its place", async () => {
      const org = newId("org");
      const held = await createdEndpoints(store, ...Array.from({ length: MAX_ENDPOINTS }, () => anEndpoint(org)));
      const refused = anEndpoint(org);
      expect(await store.webhooks.createEndpoint(refused, limits)).toBe("limit_reached");
      expect(await store.webhooks.findEndpoint(org, refused.id)).toBeNull();
      expect(await store.webhooks.createEndpoint(anEndpoint(newId("org")), limits)).toBe("created");
      expect(await store.webhooks.deleteEndpoint(org, held[0]!.id, T2)).toBe(true);
      expect(await store.webhooks.createEndpoint(refused, limits)).toBe("created");
      expect(await store.webhooks.createEndpoint(anEndpoint(org), limits)).toBe("limit_reached");
      expect(await store.webhooks.listEndpoints(org)).toHaveLength(MAX_ENDPOINTS);
    });

    it("of creations racing for an organization's last places, exactly as many succeed as there are places", async () => {
      // From nothing (the organization's count is made by the racers) and from one place short of the limit.
      for (const [registered, racers] of [
        [0, 3],
        [MAX_ENDPOINTS - 2, 4],
      ] as const) {
        const org = newId("org");
        await createdEndpoints(store, ...Array.from({ length: registered }, () => anEndpoint(org)));
        const max = registered === 0 ? 2 : MAX_ENDPOINTS;
        const outcomes = await Promise.all(Array.from({ length: racers }, () => store.webhooks.createEndpoint(anEndpoint(org), { maxPerOrganization: max })));
        expect(outcomes.filter((outcome) => outcome === "created")).toHaveLength(2);
        expect(await store.webhooks.listEndpoints(org)).toHaveLength(max);
      }
    });

    it("rotates the secret, keeping the one it replaced as the previous one until the time given", async () => {
      const org = newId("org");
      const [endpoint] = await createdEndpoints(store, anEndpoint(org));
      expect(await store.webhooks.rotateSecret(newId("org"), endpoint!.id, newSecret("a"), T2, T1)).toBeNull();
      expect(await store.webhooks.rotateSecret(org, newId("whe"), newSecret("a"), T2, T1)).toBeNull();
      const once = { ...endpoint!, secret: newSecret("a"), previousSecret: { secret: endpoint!.secret, expiresAt: T2 }, updatedAt: T1 };
      expect(await store.webhooks.rotateSecret(org, endpoint!.id, newSecret("a"), T2, T1)).toStrictEqual(once);
      const twice = { ...once, secret: newSecret("b"), previousSecret: { secret: newSecret("a"), expiresAt: T2 }, updatedAt: T2 };
      expect(await store.webhooks.rotateSecret(org, endpoint!.id, newSecret("b"), T2, T2)).toStrictEqual(twice);
      expect(await store.webhooks.findEndpoint(org, endpoint!.id)).toStrictEqual(twice);
    });

    it("of two rotations at once, keeps both new secrets: the later one's previous secret is the earlier one's", async () => {
      const org = newId("org");
      const [endpoint] = await createdEndpoints(store, anEndpoint(org));
      await Promise.all(["a", "b"].map((name) => store.webhooks.rotateSecret(org, endpoint!.id, newSecret(name), T2, T1)));
      const rotated = (await store.webhooks.findEndpoint(org, endpoint!.id))!;
      expect([rotated.secret, rotated.previousSecret?.secret]).toEqual(expect.arrayContaining([newSecret("a"), newSecret("b")]));
    });

    it("disables a failing endpoint only while it is enabled and failing since the time given", async () => {
      const org = newId("org");
      const [endpoint, healthy] = await createdEndpoints(store, anEndpoint(org, { failingSince: T1 }), anEndpoint(org));
      expect(await store.webhooks.disableFailing(newId("org"), endpoint!.id, T1, "failing", T2)).toBe(false);
      expect(await store.webhooks.disableFailing(org, healthy!.id, T1, "failing", T2)).toBe(false);
      expect(await store.webhooks.disableFailing(org, endpoint!.id, T2, "failing", T2)).toBe(false);
      expect(await store.webhooks.findEndpoint(org, endpoint!.id)).toStrictEqual(endpoint);
      expect(await store.webhooks.disableFailing(org, endpoint!.id, T1, "failing", T2)).toBe(true);
      expect(await store.webhooks.findEndpoint(org, endpoint!.id)).toStrictEqual({ ...endpoint!, enabled: false, disabledReason: "failing", updatedAt: T2 });
      expect(await store.webhooks.disableFailing(org, endpoint!.id, T1, "failing again", T2)).toBe(false);
    });

    it("of several disablings at once, exactly one disables the endpoint", async () => {
      const org = newId("org");
      const [endpoint] = await createdEndpoints(store, anEndpoint(org, { failingSince: T1 }));
      const disabled = await Promise.all([1, 2, 3].map(() => store.webhooks.disableFailing(org, endpoint!.id, T1, "failing", T2)));
      expect(disabled.filter(Boolean)).toHaveLength(1);
    });
  });
}
