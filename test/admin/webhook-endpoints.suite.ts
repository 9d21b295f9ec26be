import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import { failure, text } from "./answers.js";
import type { StoreMaker } from "./clients.js";
import { webhookServiceOn, type AdminClient, type WebhookService } from "./webhook-service.js";

/**
 * Webhook endpoints through the whole KeyAdminService: registering, listing, changing, deleting
 * and rotating their secrets; the secret shown once and found nowhere else; the field rules; the
 * limit per organization; and who may do what.
 */

const RECEIVER = "https://hooks.example.com/keygate";
const SECRET_FORMAT = /^whsec_[A-Za-z0-9+/]{43}=$/;

export function describeWebhookEndpoints(storeName: string, makeStore: StoreMaker): void {
  describe(`webhook endpoints on the ${storeName} store`, () => {
    let s: WebhookService;
    webhookServiceOn(makeStore, { allowInsecureTargets: false }, (service) => (s = service));

    /** Every place a secret must never reach: the organization's audit log, and every log line so far. */
    async function expectNowhereElse(owner: AdminClient, secret: string): Promise<void> {
      // The RPC log lines are there to search (one per call), so their lacking the secret means something.
      expect(s.logs.some((line) => line.includes("KeyAdminService/CreateWebhookEndpoint"))).toBe(true);
      const audit = await owner.listAuditEvents({ pageSize: 1000 });
      expect(text(audit)).not.toContain(secret);
      expect(s.logs.join("")).not.toContain(secret);
      expect(s.logs.join("")).not.toContain(secret.slice("whsec_".length));
    }

    describe("CreateWebhookEndpoint and ListWebhookEndpoints", () => {
      it("registers an enabled endpoint and shows its secret once: sealed in the store, absent from lists, audit and logs", async () => {
        const { org, owner } = await s.organization();
        const created = await owner.createWebhookEndpoint({ url: RECEIVER, eventTypes: ["key.revoked", "key.created", "key.revoked"], description: "ops pager" });
        expect(created.signingSecret).toMatch(SECRET_FORMAT);
        expect(Buffer.from(created.signingSecret.slice("whsec_".length), "base64")).toHaveLength(32);
        const endpoint = created.endpoint!;
        expect(endpoint).toMatchObject({ organizationId: org.organization.id, url: RECEIVER, eventTypes: ["key.revoked", "key.created"], description: "ops pager", enabled: true, disabledReason: "" });
        expect(endpoint.id).toMatch(/^whe_/);

        const stored = (await s.store.webhooks.findEndpoint(org.organization.id, endpoint.id))!;
        expect(s.sealing.open(stored.secret, endpoint.id)).toBe(created.signingSecret);
        expect(JSON.stringify(stored)).not.toContain(created.signingSecret.slice("whsec_".length));

        const listed = await owner.listWebhookEndpoints({});
        expect(listed.endpoints).toEqual([endpoint]);
        expect(text(listed)).not.toContain(created.signingSecret);
        const updated = await owner.updateWebhookEndpoint({ id: endpoint.id, description: "renamed" });
        expect(text(updated)).not.toContain(created.signingSecret);

        const [entry] = (await owner.listAuditEvents({ pageSize: 10 })).events.filter((e) => e.action === "webhook.create");
        expect(entry!.details).toEqual({ endpointId: endpoint.id, target: "https://hooks.example.com", eventTypes: "key.revoked,key.created" });
        await expectNowhereElse(owner, created.signingSecret);
      });

      it("answers a retry with the same idempotency key with the first answer, secret included, and registers one endpoint", async () => {
        const { owner } = await s.organization();
        const headers = { "idempotency-key": "create-pager-endpoint-1" };
        const first = await owner.createWebhookEndpoint({ url: RECEIVER }, { headers });
        const retry = await owner.createWebhookEndpoint({ url: RECEIVER }, { headers });
        expect(retry).toEqual(first);
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([first.endpoint]);
      });

      it("takes every event type when none is named, and gives each endpoint its own secret", async () => {
        const { owner } = await s.organization();
        const first = await owner.createWebhookEndpoint({ url: RECEIVER });
        const second = await owner.createWebhookEndpoint({ url: `${RECEIVER}/2` });
        expect(first.endpoint!.eventTypes).toEqual([]);
        expect(first.signingSecret).not.toBe(second.signingSecret);
        expect((await owner.listWebhookEndpoints({})).endpoints.map((e) => e.id)).toEqual([first.endpoint!.id, second.endpoint!.id]);
      });

      it("holds at most 20 endpoints per organization: the 21st is resource_exhausted and writes nothing", async () => {
        const { owner } = await s.organization();
        for (let i = 0; i < 20; i++) await owner.createWebhookEndpoint({ url: `${RECEIVER}/${i}` });
        expect(await failure(owner.createWebhookEndpoint({ url: `${RECEIVER}/20` }))).toMatchObject({ code: Code.ResourceExhausted, reason: "WEBHOOK_ENDPOINT_LIMIT_EXCEEDED" });
        expect((await owner.listWebhookEndpoints({})).endpoints).toHaveLength(20);
        // Another organization's count is its own.
        const other = await s.organization();
        await other.owner.createWebhookEndpoint({ url: RECEIVER });
      });

      it("holds exactly 20 when creations race for the last places: those past the limit are resource_exhausted", async () => {
        const { owner } = await s.organization();
        for (let i = 0; i < 18; i++) await owner.createWebhookEndpoint({ url: `${RECEIVER}/${i}` });
        const answers = await Promise.all(
          [18, 19, 20, 21].map((i) => owner.createWebhookEndpoint({ url: `${RECEIVER}/${i}` }).then(() => "created", (error: unknown) => failure(Promise.reject(error)))),
        );
        expect(answers.filter((answer) => answer === "created")).toHaveLength(2);
        for (const refused of answers.filter((answer) => answer !== "created")) {
          expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: "WEBHOOK_ENDPOINT_LIMIT_EXCEEDED" });
        }
        expect((await owner.listWebhookEndpoints({})).endpoints).toHaveLength(20);
      });

      it.each([
        ["no url", { url: "" }, "url"],
        ["a relative url", { url: "/hooks" }, "url"],
        ["http:// (insecure targets not allowed)", { url: "http://hooks.example.com/keygate" }, "url"],
        ["a private address", { url: "https://10.0.0.8/hooks" }, "url"],
        ["loopback", { url: "https://127.0.0.1/hooks" }, "url"],
        ["localhost", { url: "https://localhost/hooks" }, "url"],
        ["credentials in the url", { url: "https://user:pass@hooks.example.com/" }, "url"],
        ["an ftp url", { url: "ftp://hooks.example.com/" }, "url"],
        ["an unknown event type", { url: RECEIVER, eventTypes: ["key.created", "key.exploded"] }, "event_types[1]"],
        ["a description over 500 characters", { url: RECEIVER, description: "x".repeat(501) }, "description"],
        ["a control character in the description", { url: RECEIVER, description: "bell\u0007" }, "description"],
      ])("refuses %s naming the field, and writes nothing", async (_case, request, field) => {
        const { owner } = await s.organization();
        const refused = await failure(owner.createWebhookEndpoint(request));
        expect(refused).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field });
        expect(refused.message.startsWith(`${field}: `)).toBe(true);
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([]);
      });

      it("tells a caller refused an http:// or private target how a development server allows it, and no one else", async () => {
        const { owner } = await s.organization();
        for (const url of ["http://hooks.example.com/keygate", "https://10.0.0.8/hooks"]) {
          expect((await failure(owner.createWebhookEndpoint({ url }))).message, url).toContain("KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS=true");
        }
        expect((await failure(owner.createWebhookEndpoint({ url: "ftp://hooks.example.com/" }))).message).not.toContain("KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS");
      });
    });

    describe("UpdateWebhookEndpoint", () => {
      it("changes only the fields present; event_types only with set_event_types, where empty means every type", async () => {
        const { owner } = await s.organization();
        const { endpoint } = await owner.createWebhookEndpoint({ url: RECEIVER, eventTypes: ["key.created"], description: "first" });
        const moved = (await owner.updateWebhookEndpoint({ id: endpoint!.id, url: `${RECEIVER}/v2` })).endpoint!;
        expect(moved).toMatchObject({ url: `${RECEIVER}/v2`, eventTypes: ["key.created"], description: "first", enabled: true });
        const retyped = (await owner.updateWebhookEndpoint({ id: endpoint!.id, setEventTypes: true, eventTypes: ["key.expiring", "quota.threshold"] })).endpoint!;
        expect(retyped).toMatchObject({ url: `${RECEIVER}/v2`, eventTypes: ["key.expiring", "quota.threshold"], description: "first" });
        const everything = (await owner.updateWebhookEndpoint({ id: endpoint!.id, setEventTypes: true })).endpoint!;
        expect(everything.eventTypes).toEqual([]);
        const disabled = (await owner.updateWebhookEndpoint({ id: endpoint!.id, enabled: false, description: "" })).endpoint!;
        expect(disabled).toMatchObject({ enabled: false, description: "", url: `${RECEIVER}/v2` });
        const entries = (await owner.listAuditEvents({ pageSize: 10 })).events.filter((e) => e.action === "webhook.update");
        expect(entries.map((e) => e.details["fields"])).toEqual(["description,enabled", "event_types", "event_types", "url"]);
        expect(entries[0]!.details).toMatchObject({ endpointId: endpoint!.id, enabled: "false", target: "https://hooks.example.com" });
      });

      it("re-enabling an endpoint keygate disabled clears the reason and the failing streak", async () => {
        const { org, owner } = await s.organization();
        const { endpoint } = await owner.createWebhookEndpoint({ url: RECEIVER });
        const failingSince = new Date(s.clock.now() - 6 * 86_400_000);
        await s.store.webhooks.updateEndpoint(org.organization.id, endpoint!.id, { enabled: false, disabledReason: "deliveries failed for 5 days", failingSince }, new Date(s.clock.now()));
        expect((await owner.listWebhookEndpoints({})).endpoints[0]).toMatchObject({ enabled: false, disabledReason: "deliveries failed for 5 days" });

        // A change that does not enable it keeps why it was disabled.
        await owner.updateWebhookEndpoint({ id: endpoint!.id, description: "still off" });
        expect((await s.store.webhooks.findEndpoint(org.organization.id, endpoint!.id))!).toMatchObject({ disabledReason: "deliveries failed for 5 days", failingSince });

        const enabled = (await owner.updateWebhookEndpoint({ id: endpoint!.id, enabled: true })).endpoint!;
        expect(enabled).toMatchObject({ enabled: true, disabledReason: "" });
        expect((await s.store.webhooks.findEndpoint(org.organization.id, endpoint!.id))!.failingSince).toBeNull();
      });

      it("an endpoint still enabled keeps its failing streak when enabled: true is sent again", async () => {
        const { org, owner } = await s.organization();
        const { endpoint } = await owner.createWebhookEndpoint({ url: RECEIVER });
        const failingSince = new Date(s.clock.now() - 86_400_000);
        await s.store.webhooks.updateEndpoint(org.organization.id, endpoint!.id, { failingSince }, new Date(s.clock.now()));
        await owner.updateWebhookEndpoint({ id: endpoint!.id, enabled: true });
        expect((await s.store.webhooks.findEndpoint(org.organization.id, endpoint!.id))!.failingSince).toEqual(failingSince);
      });

      it.each([
        ["a private address", { url: "https://192.168.1.1/" }, "url"],
        ["an empty url", { url: "" }, "url"],
        ["an unknown event type", { setEventTypes: true, eventTypes: ["nope"] }, "event_types[0]"],
        ["event_types without set_event_types", { eventTypes: ["key.created"] }, "set_event_types"],
        ["a description over 500 characters", { description: "y".repeat(501) }, "description"],
        ["no id", { id: "" }, "id"],
      ])("refuses %s naming the field, and changes nothing", async (_case, request, field) => {
        const { owner } = await s.organization();
        const { endpoint } = await owner.createWebhookEndpoint({ url: RECEIVER, eventTypes: ["key.created"], description: "kept" });
        expect(await failure(owner.updateWebhookEndpoint({ id: endpoint!.id, enabled: false, ...request }))).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field });
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([endpoint]);
      });
    });

    describe("DeleteWebhookEndpoint and RotateWebhookSecret", () => {
      it("deletes an endpoint: gone from the list, audited, and not found a second time", async () => {
        const { owner } = await s.organization();
        const { endpoint } = await owner.createWebhookEndpoint({ url: RECEIVER });
        const { endpoint: kept } = await owner.createWebhookEndpoint({ url: `${RECEIVER}/kept` });
        await owner.deleteWebhookEndpoint({ id: endpoint!.id });
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([kept]);
        expect(await failure(owner.deleteWebhookEndpoint({ id: endpoint!.id }))).toMatchObject({ code: Code.NotFound, reason: "WEBHOOK_ENDPOINT_NOT_FOUND", field: "id" });
        const [entry] = (await owner.listAuditEvents({ pageSize: 10 })).events.filter((e) => e.action === "webhook.delete");
        expect(entry!.details).toEqual({ endpointId: endpoint!.id, target: "https://hooks.example.com" });
      });

      it("rotates the secret: the new one shown once, the previous one kept for 24 hours, neither audited nor logged", async () => {
        const { org, owner } = await s.organization();
        const created = await owner.createWebhookEndpoint({ url: RECEIVER });
        const id = created.endpoint!.id;
        const rotated = await owner.rotateWebhookSecret({ id });
        expect(rotated.signingSecret).toMatch(SECRET_FORMAT);
        expect(rotated.signingSecret).not.toBe(created.signingSecret);
        const stored = (await s.store.webhooks.findEndpoint(org.organization.id, id))!;
        expect(s.sealing.open(stored.secret, id)).toBe(rotated.signingSecret);
        expect(s.sealing.open(stored.previousSecret!.secret, id)).toBe(created.signingSecret);
        expect(stored.previousSecret!.expiresAt.getTime()).toBe(s.clock.now() + 24 * 3600 * 1000);

        const [entry] = (await owner.listAuditEvents({ pageSize: 10 })).events.filter((e) => e.action === "webhook.rotate_secret");
        expect(entry!.details).toEqual({ endpointId: id, target: "https://hooks.example.com", previousSecretExpiresAt: stored.previousSecret!.expiresAt.toISOString() });
        expect(text(await owner.listWebhookEndpoints({}))).not.toContain(rotated.signingSecret);
        await expectNowhereElse(owner, created.signingSecret);
        await expectNowhereElse(owner, rotated.signingSecret);
      });

      it("loses no secret it showed when rotations run at once: each answer's secret is the current or the previous one", async () => {
        const { org, owner } = await s.organization();
        const id = (await owner.createWebhookEndpoint({ url: RECEIVER })).endpoint!.id;
        for (let round = 0; round < 3; round++) {
          const shown = await Promise.all([owner.rotateWebhookSecret({ id }), owner.rotateWebhookSecret({ id })]);
          const stored = (await s.store.webhooks.findEndpoint(org.organization.id, id))!;
          const signing = [s.sealing.open(stored.secret, id), s.sealing.open(stored.previousSecret!.secret, id)];
          expect(signing).toEqual(expect.arrayContaining(shown.map((answer) => answer.signingSecret)));
        }
      });
    });

    describe("tenancy", () => {
      it("answers another organization's endpoint exactly as a missing one, on every RPC that names one", async () => {
        const { owner } = await s.organization();
        const other = await s.organization();
        const { endpoint: theirs } = await other.owner.createWebhookEndpoint({ url: RECEIVER });
        const missing = "whe_01ABCDEFGHJKMNPQRSTVWXYZ01";
        const answers = async (id: string) => [
          await failure(owner.updateWebhookEndpoint({ id, description: "mine now" })),
          await failure(owner.deleteWebhookEndpoint({ id })),
          await failure(owner.rotateWebhookSecret({ id })),
          await failure(owner.sendTestWebhook({ id })),
          await failure(owner.listWebhookDeliveries({ endpointId: id })),
        ];
        const forTheirs = await answers(theirs!.id);
        const forMissing = await answers(missing);
        for (const [i, answer] of forTheirs.entries()) {
          expect(answer).toMatchObject({ code: Code.NotFound, reason: "WEBHOOK_ENDPOINT_NOT_FOUND" });
          expect({ ...answer, message: answer.message.replace(theirs!.id, missing) }).toEqual(forMissing[i]);
        }
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([]);
        expect((await other.owner.listWebhookEndpoints({})).endpoints).toEqual([theirs]);
      });

      it("never quotes a value that is not an endpoint id, and warns when it looks like an API key", async () => {
        const { org, owner } = await s.organization();
        const refused = await failure(owner.deleteWebhookEndpoint({ id: org.secret }));
        expect(refused).toMatchObject({ code: Code.NotFound, reason: "WEBHOOK_ENDPOINT_NOT_FOUND", field: "id" });
        expect(refused.message).not.toContain(org.secret);
        expect(refused.message).toContain("looks like an API key secret");
      });
    });

    describe("who may manage them", () => {
      it("lets admin:read list endpoints but change none", async () => {
        const { owner } = await s.organization();
        const { endpoint } = await owner.createWebhookEndpoint({ url: RECEIVER });
        const { secret } = await owner.createKey({ name: "reader", scopes: ["admin:read"] });
        const reader = s.clientFor(secret);
        expect((await reader.listWebhookEndpoints({})).endpoints).toEqual([endpoint]);
        expect(await reader.listWebhookDeliveries({ endpointId: endpoint!.id })).toEqual(await owner.listWebhookDeliveries({ endpointId: endpoint!.id }));
        const id = endpoint!.id;
        // Each refusal is taken as its call is made: one answered before its turn is not left unhandled.
        const refusals = [
          reader.createWebhookEndpoint({ url: RECEIVER }),
          reader.updateWebhookEndpoint({ id, enabled: false }),
          reader.deleteWebhookEndpoint({ id }),
          reader.rotateWebhookSecret({ id }),
          reader.sendTestWebhook({ id }),
          reader.redeliverWebhook({ deliveryId: "whd_01ABCDEFGHJKMNPQRSTVWXYZ01" }),
        ].map(failure);
        for (const refused of refusals) expect(await refused).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([endpoint]);
      });

      it("refuses a member with admin:write every change, audited; lets it read, the targets' origins only", async () => {
        const { owner } = await s.organization();
        const { endpoint } = await owner.createWebhookEndpoint({ url: RECEIVER });
        const { endpoint: bare } = await owner.createWebhookEndpoint({ url: "https://bare.example.com" });
        const member = await s.actingAs(owner, UserRole.MEMBER);
        const id = endpoint!.id;
        // The path may hold the receiver's token: a member sees where deliveries go, not how to forge one.
        expect((await member.client.listWebhookEndpoints({})).endpoints).toEqual([{ ...endpoint, url: "https://hooks.example.com/…" }, { ...bare, url: "https://bare.example.com" }]);
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([endpoint, bare]);
        const calls = [
          member.client.createWebhookEndpoint({ url: RECEIVER }),
          member.client.updateWebhookEndpoint({ id, enabled: false }),
          member.client.deleteWebhookEndpoint({ id }),
          member.client.rotateWebhookSecret({ id }),
          member.client.sendTestWebhook({ id }),
        ].map(failure);
        for (const refused of calls) expect(await refused).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([endpoint, bare]);
        const refusals = (await owner.listAuditEvents({ pageSize: 100 })).events.filter((e) => e.action === "auth.failed" && e.actorKeyId === member.keyId);
        expect(refusals.map((e) => e.details["reason"])).toEqual(Array(calls.length).fill("WEBHOOKS_NOT_MANAGED"));
      });

      it("lets admins and owners manage them", async () => {
        const { owner } = await s.organization();
        const admin = await s.actingAs(owner, UserRole.ADMIN);
        const { endpoint } = await admin.client.createWebhookEndpoint({ url: RECEIVER });
        await admin.client.updateWebhookEndpoint({ id: endpoint!.id, description: "by an admin" });
        await admin.client.rotateWebhookSecret({ id: endpoint!.id });
        await owner.updateWebhookEndpoint({ id: endpoint!.id, description: "by the owner" });
        await admin.client.deleteWebhookEndpoint({ id: endpoint!.id });
        expect((await owner.listWebhookEndpoints({})).endpoints).toEqual([]);
      });
    });
  });

  describe(`webhook endpoints with insecure targets allowed (development and tests) on the ${storeName} store`, () => {
    let s: WebhookService;
    webhookServiceOn(makeStore, { allowInsecureTargets: true }, (service) => (s = service));

    it("registers http:// and loopback targets", async () => {
      const { owner } = await s.organization();
      const { endpoint } = await owner.createWebhookEndpoint({ url: "http://127.0.0.1:8099/hooks" });
      expect(endpoint!.url).toBe("http://127.0.0.1:8099/hooks");
      expect((await owner.updateWebhookEndpoint({ id: endpoint!.id, url: "http://localhost:8099/" })).endpoint!.url).toBe("http://localhost:8099/");
      expect(await failure(owner.createWebhookEndpoint({ url: "ftp://127.0.0.1/" }))).toMatchObject({ code: Code.InvalidArgument, field: "url" });
    });
  });
}
