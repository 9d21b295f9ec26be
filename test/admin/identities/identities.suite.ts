import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { RateLimitPeriod, RefillInterval, UsagePeriod, UserRole, type CreateIdentityRequestSchema, type Identity } from "../../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../../src/model/ids.js";
import { DEFAULT_PLANS, findPlan } from "../../../src/model/plans.js";
import { utcDay } from "../../../src/time/utc-days.js";
import { aBatch, aDelta, aTally } from "../../store/contract/usage.js";
import { failure } from "../answers.js";
import type { StoreMaker } from "../clients.js";
import { webhookServiceOn, type AdminClient, type WebhookService } from "../webhook-service.js";

/**
 * Identities through the whole KeyAdminService: their RPCs, the field rules, who may do what, and
 * keys' named limits, credits and identity_id; on both stores.
 */

type IdentityInit = MessageInitShape<typeof CreateIdentityRequestSchema>;

/** An identity as GetIdentity answers it before anything was spent: its credits' `left` is all of them. */
const unspent = (identity: Identity): Identity => (identity.credits ? { ...identity, credits: { ...identity.credits, left: identity.credits.remaining } } : identity);

const acme = (fields: IdentityInit = {}): IdentityInit =>
  ({
  externalId: `acme-${newId("idt").slice(-10)}`,
  name: "Acme Corp",
  meta: { plan: "gold" },
  limits: [
    { name: "burst", limit: 10, period: RateLimitPeriod.SECOND },
    { name: "daily", limit: 10_000, period: RateLimitPeriod.DAY },
  ],
  credits: { remaining: 1_000n, refill: { amount: 1_000n, interval: RefillInterval.MONTHLY, day: 15 } },
  ...fields,
  }) as IdentityInit;

export function describeIdentities(storeName: string, makeStore: StoreMaker): void {
  describe(`identities on the ${storeName} store`, () => {
    let s: WebhookService;
    webhookServiceOn(makeStore, { allowInsecureTargets: false }, (service) => (s = service));

    const auditOf = async (owner: AdminClient, action: string) => (await owner.listAuditEvents({ pageSize: 100 })).events.filter((e) => e.action === action);

    describe("CreateIdentity, GetIdentity, ListIdentities", () => {
      it("creates an identity as asked, audits it without its meta, and finds and lists it", async () => {
        const { org, owner } = await s.organization();
        const { identity } = await owner.createIdentity(acme({ externalId: "acme-1" }));
        expect(identity).toMatchObject({
          organizationId: org.organization.id,
          externalId: "acme-1",
          name: "Acme Corp",
          meta: { plan: "gold" },
          limits: [
            { name: "burst", limit: 10, period: RateLimitPeriod.SECOND },
            { name: "daily", limit: 10_000, period: RateLimitPeriod.DAY },
          ],
          credits: { remaining: 1_000n, refill: { amount: 1_000n, interval: RefillInterval.MONTHLY, day: 15 } },
        });
        expect(identity!.id).toMatch(/^idt_/);
        // GetIdentity adds what is left now: all of it, nothing spent yet.
        expect((await owner.getIdentity({ id: identity!.id })).identity).toEqual(unspent(identity!));
        expect((await owner.listIdentities({})).identities).toEqual([identity]);
        const [entry] = await auditOf(owner, "identity.create");
        expect(entry!.details).toEqual({ identityId: identity!.id, externalId: "acme-1", limits: "burst=10/second,daily=10000/day", credits: "1000" });
      });

      it("lists in creation order, a page at a time, and filters by external id", async () => {
        const { owner } = await s.organization();
        const made = [];
        for (let i = 0; i < 3; i++) made.push((await owner.createIdentity(acme({ externalId: `customer-${i}` }))).identity!);
        const first = await owner.listIdentities({ pageSize: 2 });
        expect(first.identities).toEqual(made.slice(0, 2));
        const second = await owner.listIdentities({ pageSize: 2, pageToken: first.nextPageToken });
        expect(second.identities).toEqual(made.slice(2));
        expect(second.nextPageToken).toBe("");
        expect((await owner.listIdentities({ externalId: "customer-1" })).identities).toEqual([made[1]]);
        expect(await failure(owner.listIdentities({ externalId: "customer-2", pageToken: first.nextPageToken }))).toMatchObject({ code: Code.InvalidArgument, field: "page_token" });
      });

      it("refuses an external id the organization already uses with already_exists; another organization may use it", async () => {
        const { owner } = await s.organization();
        await owner.createIdentity(acme({ externalId: "same" }));
        expect(await failure(owner.createIdentity(acme({ externalId: "same" })))).toMatchObject({
          code: Code.AlreadyExists,
          reason: "IDENTITY_EXTERNAL_ID_TAKEN",
          field: "external_id",
        });
        expect((await owner.listIdentities({})).identities).toHaveLength(1);
        const other = await s.organization();
        await expect(other.owner.createIdentity(acme({ externalId: "same" }))).resolves.toBeDefined();
      });

      it("refuses an identity past the plan's maxIdentities with resource_exhausted, naming the limit, and creates nothing", async () => {
        const { owner } = await s.organization("free");
        const limit = findPlan(DEFAULT_PLANS, "free")!.maxIdentities;
        for (let i = 0; i < limit; i++) await owner.createIdentity({ externalId: `customer-${i}`, name: `Customer ${i}` });
        const refused = await failure(owner.createIdentity({ externalId: "one-too-many", name: "One too many" }));
        expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: "IDENTITY_LIMIT_EXCEEDED" });
        expect(refused.message).toContain(String(limit));
        expect((await owner.listIdentities({ externalId: "one-too-many" })).identities).toEqual([]);
      });

      it("answers a retry with the same idempotency key with the first answer, and creates one identity", async () => {
        const { owner } = await s.organization();
        const headers = { "idempotency-key": "create-acme-1" };
        const first = await owner.createIdentity(acme({ externalId: "acme" }), { headers });
        expect(await owner.createIdentity(acme({ externalId: "acme" }), { headers })).toEqual(first);
        expect((await owner.listIdentities({})).identities).toEqual([first.identity]);
      });

      const invalid: [string, IdentityInit, string][] = [
        ["an empty external id", { externalId: "" }, "external_id"],
        ["an external id of 257 characters", { externalId: "x".repeat(257) }, "external_id"],
        ["a name of 257 characters", { name: "n".repeat(257) }, "name"],
        ["33 meta entries", { meta: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) }, "meta"],
        ["a meta value of 257 characters", { meta: { k: "v".repeat(257) } }, 'meta["k"]'],
        ["17 limits", { limits: Array.from({ length: 17 }, (_, i) => ({ name: `l${i}`, limit: 1, period: RateLimitPeriod.MINUTE })) }, "limits"],
        ["a limit name with a space", { limits: [{ name: "per second", limit: 1, period: RateLimitPeriod.SECOND }] }, "limits[0].name"],
        ["a limit name given twice", { limits: [{ name: "a", limit: 1, period: RateLimitPeriod.SECOND }, { name: "a", limit: 2, period: RateLimitPeriod.DAY }] }, "limits[1].name"],
        ["a limit of 0", { limits: [{ name: "a", limit: 0, period: RateLimitPeriod.SECOND }] }, "limits[0].limit"],
        ["a limit without a period", { limits: [{ name: "a", limit: 1 }] }, "limits[0].period"],
        ["negative credits", { credits: { remaining: -1n } }, "credits.remaining"],
        ["a refill of 0", { credits: { remaining: 1n, refill: { amount: 0n, interval: RefillInterval.DAILY } } }, "credits.refill.amount"],
        ["a refill without an interval", { credits: { remaining: 1n, refill: { amount: 5n } } }, "credits.refill.interval"],
        ["a daily refill with a day", { credits: { remaining: 1n, refill: { amount: 5n, interval: RefillInterval.DAILY, day: 3 } } }, "credits.refill.day"],
        ["a monthly refill on day 32", { credits: { remaining: 1n, refill: { amount: 5n, interval: RefillInterval.MONTHLY, day: 32 } } }, "credits.refill.day"],
      ];
      for (const [what, fields, field] of invalid) {
        it(`refuses ${what}, naming ${field}, and creates nothing`, async () => {
          const { owner } = await s.organization();
          expect(await failure(owner.createIdentity(acme(fields)))).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field });
          expect((await owner.listIdentities({})).identities).toEqual([]);
        });
      }

      it("takes a named limit called default on an identity, and a monthly refill without a day as the 1st", async () => {
        const { owner } = await s.organization();
        const { identity } = await owner.createIdentity(
          acme({ limits: [{ name: "default", limit: 5, period: RateLimitPeriod.MINUTE }], credits: { remaining: 0n, refill: { amount: 9n, interval: RefillInterval.MONTHLY } } }),
        );
        expect(identity!.limits.map((limit) => limit.name)).toEqual(["default"]);
        expect(identity!.credits!.refill!.day).toBe(1);
      });
    });

    describe("UpdateIdentity and DeleteIdentity", () => {
      it("changes only the fields present, removes credits with clear_credits, and audits the fields", async () => {
        const { owner } = await s.organization();
        const { identity } = await owner.createIdentity(acme());
        const { identity: renamed } = await owner.updateIdentity({ id: identity!.id, name: "Acme Inc", meta: { values: { tier: "2" } } });
        expect(renamed).toMatchObject({ ...identity, name: "Acme Inc", meta: { tier: "2" }, updatedAt: renamed!.updatedAt });
        const { identity: cleared } = await owner.updateIdentity({ id: identity!.id, limits: { values: [] }, clearCredits: true });
        expect(cleared!.limits).toEqual([]);
        expect(cleared!.credits).toBeUndefined();
        expect(cleared!.name).toBe("Acme Inc");
        expect((await auditOf(owner, "identity.update")).map((e) => e.details["fields"])).toEqual(["limits,credits", "name,meta"]);
        expect(await failure(owner.updateIdentity({ id: identity!.id, credits: { remaining: 1n }, clearCredits: true }))).toMatchObject({ code: Code.InvalidArgument, field: "clear_credits" });
        const taken = (await owner.createIdentity(acme())).identity!;
        expect(await failure(owner.updateIdentity({ id: identity!.id, externalId: taken.externalId }))).toMatchObject({ code: Code.AlreadyExists, reason: "IDENTITY_EXTERNAL_ID_TAKEN" });
      });

      it("refuses to delete an identity while an unrevoked key is tied to it, naming how many, and deletes it once untied", async () => {
        const { owner } = await s.organization();
        const { identity } = await owner.createIdentity(acme());
        const { key } = await owner.createKey({ name: "tied", identityId: identity!.id });
        const { key: revoked } = await owner.createKey({ name: "revoked, keeps its identity", identityId: identity!.id });
        await owner.revokeKey({ id: revoked!.id });
        expect(await failure(owner.deleteIdentity({ id: identity!.id }))).toMatchObject({
          code: Code.FailedPrecondition,
          reason: "IDENTITY_IN_USE",
          field: "id",
          message: expect.stringMatching(new RegExp(`1 key is still tied to the identity \\(${key!.id}\\); untie each \\(UpdateKey with an empty identity_id\\)`)),
        });
        const refused = await owner.deleteIdentity({ id: identity!.id }).catch((error: unknown) => ConnectError.from(error));
        expect((refused as ConnectError).findDetails(ErrorInfoSchema)[0]!.metadata).toEqual({ field: "id", keys: "1", keyIds: key!.id });
        expect((await owner.getIdentity({ id: identity!.id })).identity).toEqual(unspent(identity!));
        await owner.updateKey({ id: key!.id, identityId: "" });
        await owner.deleteIdentity({ id: identity!.id });
        expect(await failure(owner.getIdentity({ id: identity!.id }))).toMatchObject({ code: Code.NotFound, reason: "IDENTITY_NOT_FOUND" });
        expect((await auditOf(owner, "identity.delete"))[0]!.details["identityId"]).toBe(identity!.id);
      });

      it("sends identity.created, identity.updated and identity.deleted to the organization's endpoints", async () => {
        const { owner } = await s.organization();
        const { endpoint } = await owner.createWebhookEndpoint({ url: "https://hooks.example.com/in", eventTypes: ["identity.created", "identity.updated", "identity.deleted"] });
        const { identity } = await owner.createIdentity(acme());
        await owner.updateIdentity({ id: identity!.id, name: "renamed" });
        await owner.deleteIdentity({ id: identity!.id });
        const { deliveries } = await owner.listWebhookDeliveries({ endpointId: endpoint!.id });
        expect(deliveries.map((d) => d.eventType)).toEqual(["identity.deleted", "identity.updated", "identity.created"]);
      });
    });

    describe("another organization's identity, and who may do what", () => {
      it("answers another organization's identity as not found everywhere, never as forbidden", async () => {
        const { owner } = await s.organization();
        const { identity } = await (await s.organization()).owner.createIdentity(acme());
        const id = identity!.id;
        // One call at a time, each made as it is awaited: a refusal never waits unhandled.
        for (const call of [
          () => owner.getIdentity({ id }),
          () => owner.updateIdentity({ id, name: "mine now" }),
          () => owner.deleteIdentity({ id }),
          () => owner.getIdentityUsage({ id, period: UsagePeriod.DAY }),
        ]) {
          expect(await failure(call())).toMatchObject({ code: Code.NotFound, reason: "IDENTITY_NOT_FOUND", field: "id" });
        }
        expect(await failure(owner.createKey({ name: "theirs", identityId: id }))).toMatchObject({ code: Code.NotFound, reason: "IDENTITY_NOT_FOUND", field: "identity_id" });
        const { key } = await owner.createKey({ name: "mine" });
        expect(await failure(owner.updateKey({ id: key!.id, identityId: id }))).toMatchObject({ code: Code.NotFound, field: "identity_id" });
        expect((await owner.getKey({ id: key!.id })).key!.identityId).toBe("");
      });

      it("lets members read identities and tie their own keys to them, but not create, change or delete them", async () => {
        const { owner } = await s.organization();
        const { identity } = await owner.createIdentity(acme());
        const member = await s.actingAs(owner, UserRole.MEMBER);
        expect((await member.client.listIdentities({})).identities).toEqual([identity]);
        expect((await member.client.getIdentity({ id: identity!.id })).identity).toEqual(unspent(identity!));
        for (const call of [() => member.client.createIdentity(acme()), () => member.client.updateIdentity({ id: identity!.id, name: "x" }), () => member.client.deleteIdentity({ id: identity!.id })]) {
          expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
        }
        const { key } = await member.client.createKey({ name: "for acme", identityId: identity!.id });
        expect(key!.identityId).toBe(identity!.id);
        const admin = await s.actingAs(owner, UserRole.ADMIN);
        await expect(admin.client.updateIdentity({ id: identity!.id, name: "by an admin" })).resolves.toBeDefined();
      });
    });

    describe("keys' named limits, credits and identity", () => {
      it("keeps what CreateKey and UpdateKey set, and changes only what an update names", async () => {
        const { owner } = await s.organization();
        const { identity } = await owner.createIdentity(acme());
        const limits = [
          { name: "burst", limit: 3, period: RateLimitPeriod.SECOND },
          { name: "steady", limit: 10, period: RateLimitPeriod.MINUTE },
        ];
        const credits = { remaining: 50n, refill: { amount: 100n, interval: RefillInterval.DAILY, day: 0 } };
        const { key } = await owner.createKey({ name: "metered", rateLimit: 100, rateLimitPeriod: RateLimitPeriod.MINUTE, limits, credits, identityId: identity!.id });
        expect(key).toMatchObject({ rateLimit: 100, rateLimitPeriod: RateLimitPeriod.MINUTE, limits, credits, identityId: identity!.id });
        expect((await owner.getKey({ id: key!.id })).key).toMatchObject({ limits, credits, identityId: identity!.id });

        const { key: renamed } = await owner.updateKey({ id: key!.id, name: "renamed" });
        expect(renamed).toMatchObject({ limits, credits, identityId: identity!.id });
        const { key: cleared } = await owner.updateKey({ id: key!.id, limits: { values: [] }, clearCredits: true, identityId: "" });
        expect(cleared).toMatchObject({ limits: [], identityId: "", name: "renamed" });
        expect(cleared!.credits).toBeUndefined();
        expect((await owner.listAuditEvents({ pageSize: 10 })).events.find((e) => e.action === "key.update")!.details["fields"]).toBe("credits,identityId,limits");
      });

      it("sends key.updated when a key is tied to an identity, or given limits or credits, and nothing for an update that changes none", async () => {
        const { owner } = await s.organization();
        const { identity } = await owner.createIdentity(acme());
        const { key } = await owner.createKey({ name: "k" });
        const { endpoint } = await owner.createWebhookEndpoint({ url: "https://hooks.example.com/in", eventTypes: ["key.updated"] });
        await owner.updateKey({ id: key!.id, identityId: identity!.id });
        await owner.updateKey({ id: key!.id, identityId: identity!.id });
        await owner.updateKey({ id: key!.id, credits: { remaining: 5n } });
        const { deliveries } = await owner.listWebhookDeliveries({ endpointId: endpoint!.id });
        expect(deliveries.map((d) => d.eventType)).toEqual(["key.updated", "key.updated"]);
      });

      it("refuses a named limit called default on a key, since rate_limit is that limit", async () => {
        const { owner } = await s.organization();
        expect(await failure(owner.createKey({ name: "k", limits: [{ name: "default", limit: 5, period: RateLimitPeriod.MINUTE }] }))).toMatchObject({
          code: Code.InvalidArgument,
          field: "limits[0].name",
        });
      });

      it("keeps a member's named limits within its user's maximum rate, compared per minute", async () => {
        const { owner } = await s.organization();
        const member = await s.actingAs(owner, UserRole.MEMBER, undefined, { maxRateLimit: 120 });
        // 3 a second is 180 a minute, above the member's 120.
        expect(await failure(member.client.createKey({ name: "k", limits: [{ name: "burst", limit: 3, period: RateLimitPeriod.SECOND }] }))).toMatchObject({
          code: Code.InvalidArgument,
          field: "limits[0].limit",
        });
        const { key } = await member.client.createKey({ name: "k", limits: [{ name: "burst", limit: 2, period: RateLimitPeriod.SECOND }] });
        expect(await failure(member.client.updateKey({ id: key!.id, limits: { values: [{ name: "hourly", limit: 7201, period: RateLimitPeriod.HOUR }] } }))).toMatchObject({
          code: Code.InvalidArgument,
          field: "limits.values[0].limit",
        });
        // Narrowing the member's maximum brings the key's named limits down with its rate.
        await owner.updateUser({ id: member.userId, limits: { maxRateLimit: 60 } });
        const narrowed = (await owner.getKey({ id: key!.id })).key!;
        expect(narrowed.limits).toEqual([expect.objectContaining({ name: "burst", limit: 60, period: RateLimitPeriod.MINUTE })]);
        // Handed to that member, an owner's faster key is refused for its named limit.
        const fast = (await owner.createKey({ name: "fast", rateLimit: 60, rateLimitPeriod: RateLimitPeriod.MINUTE, limits: [{ name: "burst", limit: 10, period: RateLimitPeriod.SECOND }] })).key!;
        expect(await failure(owner.updateKey({ id: fast.id, ownerUserId: member.userId }))).toMatchObject({ code: Code.InvalidArgument, field: "owner_user_id" });
      });

      it("refuses credits both set and cleared, and negative credits, naming the field", async () => {
        const { owner } = await s.organization();
        const { key } = await owner.createKey({ name: "k" });
        expect(await failure(owner.updateKey({ id: key!.id, credits: { remaining: 5n }, clearCredits: true }))).toMatchObject({ field: "clear_credits" });
        expect(await failure(owner.createKey({ name: "k", credits: { remaining: -5n } }))).toMatchObject({ field: "credits.remaining" });
      });
    });

    describe("GetIdentityUsage", () => {
      it("sums the usage of the keys tied to the identity, per key and per day, and nothing of other keys", async () => {
        const { org, owner } = await s.organization();
        const organizationId = org.organization.id;
        const { identity } = await owner.createIdentity(acme());
        const busy = (await owner.createKey({ name: "busy", identityId: identity!.id })).key!;
        const quiet = (await owner.createKey({ name: "quiet", identityId: identity!.id })).key!;
        const elsewhere = (await owner.createKey({ name: "elsewhere" })).key!;
        const today = utcDay(s.clock.now());
        await s.store.usage.apply(
          aBatch(
            aDelta(organizationId, busy.id, today, aTally({ outcomes: { allowed: 5, RATE_LIMITED: 2 } })),
            aDelta(organizationId, quiet.id, today, aTally({ outcomes: { allowed: 1 } })),
            aDelta(organizationId, elsewhere.id, today, aTally({ outcomes: { allowed: 40 } })),
          ),
        );
        const usage = await owner.getIdentityUsage({ id: identity!.id, period: UsagePeriod.WEEK });
        expect(usage).toMatchObject({ identityId: identity!.id, period: UsagePeriod.WEEK, totalRequests: 8n, rateLimitedRequests: 2n });
        expect(usage.requestsByKey.map((k) => [k.keyId, k.name, k.requests])).toEqual([
          [busy.id, "busy", 7n],
          [quiet.id, "quiet", 1n],
        ]);
        expect(usage.dailyBreakdown).toHaveLength(7);
        expect(usage.dailyBreakdown.at(-1)).toMatchObject({ date: today, requests: 8n });
        expect(await failure(owner.getIdentityUsage({ id: identity!.id }))).toMatchObject({ code: Code.InvalidArgument, field: "period" });
      });
    });
  });
}
