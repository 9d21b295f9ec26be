import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { Environment, RateLimitPeriod, UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../src/keys/ids.js";
import { generateSecret, keyPrefixOf } from "../../src/keys/secret.js";
import type { BootstrapResult } from "../../src/tenancy/bootstrap.js";
import type { TestApp } from "../support/app.js";
import { aKey } from "../support/records.js";
import { failure, text } from "./admin-api.suite.js";
import { appOnStore, anOperator, operatorClientFor, type StoreMaker } from "./clients.js";


/**
 * Platform operators through a real server: OperatorService, reading any organization's keys
 * (never a secret), every look audited in the organization looked at, and the wall that keeps
 * every other key inside its own organization.
 */
export function describeOperators(storeName: string, makeStore: StoreMaker) {
  describe(`platform operators on the ${storeName} store`, () => {
    let t: TestApp;
    let operator: BootstrapResult;
    appOnStore(makeStore, async (app) => {
      t = app;
      operator = await anOperator(t);
    });

    const operatorApi = () => operatorClientFor(t, operator.secret);
    const operatorKeys = () => t.clientFor(operator.secret);
    const auditOf = (organizationId: string) => t.store.audit.list(organizationId, { limit: 1000 });

    it("creates organizations, with the owner's first key only when asked, audited in the new organization", async () => {
      const plain = await operatorApi().createOrganization({ name: "Globex", plan: "free", ownerName: "Hank" });
      expect(plain.organization).toMatchObject({ name: "Globex", plan: "free" });
      expect(plain.owner).toMatchObject({ name: "Hank", role: UserRole.OWNER, organizationId: plain.organization!.id });
      expect(plain.ownerKey).toBeUndefined();
      expect(plain.ownerKeySecret).toBe("");
      expect(await t.store.keys.countByState(plain.organization!.id)).toEqual({ total: 0, active: 0 });
      const [created] = await auditOf(plain.organization!.id);
      expect(created).toMatchObject({
        action: "org.create",
        actorKeyId: operator.key.id,
        actorUserId: operator.owner.id,
        details: { name: "Globex", plan: "free", ownerUserId: plain.owner!.id, actorOrganizationId: operator.organization.id },
      });

      const withKey = await operatorApi().createOrganization({ name: "Initech", issueOwnerKey: true, environment: Environment.TEST });
      expect(withKey.organization!.plan).toBe(t.config.defaultPlan);
      expect(withKey.ownerKeySecret).toMatch(/^sk_test_/);
      expect(withKey.ownerKey).toMatchObject({ ownerUserId: withKey.owner!.id, createdBy: operator.key.id });
      const limits = await t.clientFor(withKey.ownerKeySecret).getMyLimits({});
      expect(limits).toMatchObject({ organizationId: withKey.organization!.id, userId: withKey.owner!.id, role: UserRole.OWNER });
      expect((await auditOf(withKey.organization!.id)).map((e) => e.action)).toEqual(["key.create", "org.create"]);

      expect((await operatorApi().getOrganization({ id: plain.organization!.id })).organization).toEqual(plain.organization);
      expect((await auditOf(plain.organization!.id))[0]).toMatchObject({ action: "operator.get_organization", actorKeyId: operator.key.id });
    });

    it("sets an organization's plan; the new plan bounds the organization and its users at once", async () => {
      const tenant = await t.anotherOrganization("pro");
      const owner = t.clientFor(tenant.secret);
      await owner.updateUser({ id: tenant.owner.id, limits: { maxKeys: 20 } });
      expect((await owner.getMyLimits({})).maxKeys).toBe(20);
      const moved = await operatorApi().setOrganizationPlan({ id: tenant.organization.id, plan: "free" });
      expect(moved).toMatchObject({ previousPlan: "pro", organization: { id: tenant.organization.id, plan: "free" } });
      expect(await owner.getMyLimits({})).toMatchObject({ maxKeys: 5, maxRateLimit: 60, canCreateAdminKeys: false, organizationMaxKeys: 10 });
      // Its keys come within the smaller plan's rate at once (the admin key it has keeps its scopes).
      expect((await owner.getKey({ id: tenant.key.id })).key).toMatchObject({ rateLimit: 60, rateLimitPeriod: RateLimitPeriod.MINUTE, scopes: tenant.key.scopes });
      const events = (await owner.listAuditEvents({})).events;
      expect(events[0]).toMatchObject({ action: "key.update", keyId: tenant.key.id, actorKeyId: operator.key.id, details: { reason: "owner_limits" } });
      const change = events.find((e) => e.action === "org.plan_change")!;
      expect(change).toMatchObject({
        action: "org.plan_change",
        actorKeyId: operator.key.id,
        organizationId: tenant.organization.id,
        details: { from: "pro", to: "free", actorOrganizationId: operator.organization.id },
      });
    });

    it("lists and gets any organization's keys, never a secret, each look audited in that organization", async () => {
      const tenant = await t.anotherOrganization();
      const owner = t.clientFor(tenant.secret);
      const made = [];
      for (let i = 0; i < 3; i++) made.push(await owner.createKey({ name: `k${i}`, scopes: ["machines:read"] }));
      const first = await operatorKeys().listKeys({ organizationId: tenant.organization.id, pageSize: 2 });
      const second = await operatorKeys().listKeys({ organizationId: tenant.organization.id, pageSize: 2, pageToken: first.nextPageToken });
      const listed = [...first.keys, ...second.keys];
      expect(listed.map((k) => k.id)).toEqual([tenant.key.id, ...made.map((m) => m.key!.id)]);
      expect(listed.every((k) => k.organizationId === tenant.organization.id)).toBe(true);
      const got = await operatorKeys().getKey({ organizationId: tenant.organization.id, id: made[0]!.key!.id });
      expect(got.key!.id).toBe(made[0]!.key!.id);
      expect(got.secret).toBe("");
      for (const secret of [tenant.secret, ...made.map((m) => m.secret)]) {
        expect(text([listed, got])).not.toContain(secret.slice(12));
      }
      expect(await failure(operatorKeys().getKey({ organizationId: tenant.organization.id, id: made[0]!.key!.id, showKeyValue: true }))).toMatchObject({
        code: Code.PermissionDenied,
        field: "show_key_value",
      });
      // Without organization_id the operator key acts in its own organization, like any key.
      expect(await failure(operatorKeys().getKey({ id: made[0]!.key!.id }))).toMatchObject({ code: Code.NotFound });
      expect((await operatorKeys().listKeys({})).keys.map((k) => k.id)).toEqual([operator.key.id]);

      const looks = (await owner.listAuditEvents({ pageSize: 100 })).events.filter((e) => e.action.startsWith("operator."));
      expect(looks.map((e) => [e.action, e.keyId])).toEqual([
        ["operator.get_key", made[0]!.key!.id],
        ["operator.list_keys", ""],
        ["operator.list_keys", ""],
      ]);
      for (const look of looks) {
        expect(look).toMatchObject({ actorKeyId: operator.key.id, actorUserId: operator.owner.id, details: { actorOrganizationId: operator.organization.id } });
      }
    });

    it("answers an unknown organization or plan clearly, and changes nothing", async () => {
      const before = await t.store.organizations.count();
      const unknown = newId("org");
      const cases: [() => Promise<unknown>, string][] = [
        [() => operatorKeys().listKeys({ organizationId: unknown }), "organization_id"],
        [() => operatorKeys().getKey({ organizationId: unknown, id: operator.key.id }), "organization_id"],
        [() => operatorApi().getOrganization({ id: unknown }), "id"],
        [() => operatorApi().setOrganizationPlan({ id: unknown, plan: "free" }), "id"],
        [() => operatorApi().setOrganizationPlan({ id: operator.organization.id, plan: "gold" }), "plan"],
        [() => operatorApi().createOrganization({ name: "Umbrella", plan: "gold" }), "plan"],
        [() => operatorApi().createOrganization({ name: "" }), "name"],
        [() => operatorApi().getOrganization({ id: "" }), "id"],
      ];
      for (const [call, field] of cases) {
        const refused = await failure(call());
        expect(refused).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field });
        expect(refused.message).toContain(field);
      }
      expect(await t.store.organizations.count()).toBe(before);
      expect((await t.store.organizations.findById(operator.organization.id))?.plan).toBe("pro");
    });

    it("keeps every other key inside its own organization", async () => {
      const tenant = await t.anotherOrganization();
      const other = await t.anotherOrganization();
      const tenantAdmin = t.clientFor(tenant.secret);
      for (const organizationId of [other.organization.id, newId("org"), operator.organization.id]) {
        expect(await failure(tenantAdmin.listKeys({ organizationId }))).toMatchObject({
          code: Code.PermissionDenied,
          reason: "PERMISSION_DENIED",
          field: "organization_id",
        });
      }
      expect(await failure(tenantAdmin.getKey({ organizationId: other.organization.id, id: other.key.id }))).toMatchObject({
        code: Code.NotFound,
        reason: "API_KEY_NOT_FOUND",
      });
      expect((await tenantAdmin.listKeys({ organizationId: tenant.organization.id })).keys.map((k) => k.id)).toEqual([tenant.key.id]);
      const tenantOps = operatorClientFor(t, tenant.secret);
      for (const call of [
        () => tenantOps.createOrganization({ name: "mine" }),
        () => tenantOps.getOrganization({ id: other.organization.id }),
        () => tenantOps.setOrganizationPlan({ id: tenant.organization.id, plan: "enterprise" }),
      ]) {
        expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
      }
      const refusals = (await tenantAdmin.listAuditEvents({ keyId: tenant.key.id })).events.filter((e) => e.action === "auth.failed");
      expect(refusals.map((e) => [e.details["method"], e.details["reason"]])).toEqual([
        ["SetOrganizationPlan", "SCOPE_MISSING"],
        ["GetOrganization", "SCOPE_MISSING"],
        ["CreateOrganization", "SCOPE_MISSING"],
      ]);
      expect((await t.store.organizations.findById(tenant.organization.id))?.plan).toBe(t.config.defaultPlan);

      // No tenant can mint platform:admin, and a key that holds it outside the platform organization is no operator.
      expect(await failure(tenantAdmin.createKey({ name: "x", scopes: ["platform:admin"] }))).toMatchObject({ code: Code.PermissionDenied, field: "scopes" });
      const secret = generateSecret("live");
      const forged = await t.store.keys.create(
        aKey(tenant.organization.id, {
          id: newId("key"),
          ownerUserId: tenant.owner.id,
          secretHash: t.app.hasher.hash(secret),
          keyPrefix: keyPrefixOf(secret),
          environment: "live",
          scopes: ["platform:admin", "admin:read", "admin:write"],
        }),
        { organizationMax: 1000, userMax: 1000 },
      );
      expect(await failure(operatorClientFor(t, secret).createOrganization({ name: "sneaky" }))).toMatchObject({ code: Code.PermissionDenied });
      expect(await failure(t.clientFor(secret).listKeys({ organizationId: other.organization.id }))).toMatchObject({ code: Code.PermissionDenied });
      expect(await failure(t.clientFor(secret).getKey({ organizationId: other.organization.id, id: other.key.id }))).toMatchObject({ code: Code.NotFound });
      const forgedKeyId = forged.ok ? forged.key.id : "";
      const [refusal] = (await tenantAdmin.listAuditEvents({ keyId: forgedKeyId })).events;
      expect(refusal).toMatchObject({ action: "auth.failed", details: { method: "CreateOrganization", reason: "NOT_PLATFORM_OPERATOR" } });
    });
  });
}
