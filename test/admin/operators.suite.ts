import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { Environment, RateLimitPeriod, UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../src/model/ids.js";
import { generateSecret, keyPrefixOf } from "../../src/model/secret.js";
import type { KeyRecord } from "../../src/model/records.js";
import type { BootstrapResult } from "../../src/tenancy/bootstrap.js";
import type { ManualClock } from "../../src/time/clock.js";
import type { TestApp } from "../support/app.js";
import { aKey } from "../support/records.js";
import { failure, text } from "./answers.js";
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
    let clock: ManualClock;
    /** A key written straight into the store, as only the database (or bootstrap) can make it. */
    async function storedKey(organizationId: string, fields: Partial<KeyRecord>): Promise<{ key: KeyRecord; secret: string }> {
      const secret = generateSecret("live");
      const record = aKey(organizationId, { secretHash: t.app.hasher.hash(secret), keyPrefix: keyPrefixOf(secret), environment: "live", ...fields });
      const outcome = await t.store.keys.create(record, { organizationMax: 1000, userMax: 1000 });
      if (!outcome.ok) throw new Error(outcome.reason);
      return { key: outcome.key, secret };
    }

    appOnStore(makeStore, async (app, appClock) => {
      t = app;
      clock = appClock;
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
      // Newest first, ListKeys' default order.
      expect(listed.map((k) => k.id)).toEqual([...made.map((m) => m.key!.id)].reverse().concat(tenant.key.id));
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

    // Contract: a refusal is audited, not_found for another organization's objects included.
    it("audits in the caller's organization a tenant's GetKey and ListKeys of another organization, answering as before", async () => {
      const tenant = await t.anotherOrganization();
      const other = await t.anotherOrganization();
      const tenantAdmin = t.clientFor(tenant.secret);
      expect(await failure(tenantAdmin.getKey({ organizationId: other.organization.id, id: other.key.id }))).toMatchObject({
        code: Code.NotFound,
        reason: "API_KEY_NOT_FOUND",
        message: `key ${JSON.stringify(other.key.id)} not found`,
      });
      expect(await failure(tenantAdmin.listKeys({ organizationId: other.organization.id }))).toMatchObject({ code: Code.PermissionDenied, field: "organization_id" });
      const refusals = (await tenantAdmin.listAuditEvents({ pageSize: 100 })).events.filter((e) => e.action === "auth.failed");
      expect(refusals.map((e) => [e.details["method"], e.details["reason"], e.details["field"], e.keyId, e.actorKeyId])).toEqual([
        ["ListKeys", "OTHER_ORGANIZATION", "organization_id", "", tenant.key.id],
        ["GetKey", "OTHER_ORGANIZATION", "organization_id", other.key.id, tenant.key.id],
      ]);
      // Nothing reaches the other organization's log, and its key is untouched.
      expect((await auditOf(other.organization.id)).filter((e) => e.action === "auth.failed")).toEqual([]);
      expect(await t.store.keys.findById(other.organization.id, other.key.id)).toEqual(other.key);
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
        () => tenantOps.regenerateOperatorKey({ id: operator.key.id }),
        () => tenantOps.revokeOperatorKey({ id: operator.key.id }),
      ]) {
        expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
      }
      const refusals = (await tenantAdmin.listAuditEvents({ keyId: tenant.key.id })).events.filter((e) => e.action === "auth.failed");
      expect(refusals.map((e) => [e.details["method"], e.details["reason"]])).toEqual([
        ["RevokeOperatorKey", "SCOPE_MISSING"],
        ["RegenerateOperatorKey", "SCOPE_MISSING"],
        ["SetOrganizationPlan", "SCOPE_MISSING"],
        ["GetOrganization", "SCOPE_MISSING"],
        ["CreateOrganization", "SCOPE_MISSING"],
      ]);
      expect((await t.store.organizations.findById(tenant.organization.id))?.plan).toBe(t.config.defaultPlan);

      // No tenant can mint platform:admin, and a key that holds it outside the platform organization is no operator.
      expect(await failure(tenantAdmin.createKey({ name: "x", scopes: ["platform:admin"] }))).toMatchObject({ code: Code.PermissionDenied, field: "scopes" });
      const { key: forged, secret } = await storedKey(tenant.organization.id, { ownerUserId: tenant.owner.id, scopes: ["platform:admin", "admin:read", "admin:write"] });
      expect(await failure(operatorClientFor(t, secret).createOrganization({ name: "sneaky" }))).toMatchObject({ code: Code.PermissionDenied });
      expect(await failure(operatorClientFor(t, secret).regenerateOperatorKey({ id: operator.key.id }))).toMatchObject({ code: Code.PermissionDenied });
      expect(await failure(operatorClientFor(t, secret).revokeOperatorKey({ id: forged.id }))).toMatchObject({ code: Code.PermissionDenied });
      expect(await failure(t.clientFor(secret).listKeys({ organizationId: other.organization.id }))).toMatchObject({ code: Code.PermissionDenied });
      expect(await failure(t.clientFor(secret).getKey({ organizationId: other.organization.id, id: other.key.id }))).toMatchObject({ code: Code.NotFound });
      const forgedRefusals = (await tenantAdmin.listAuditEvents({ keyId: forged.id })).events;
      expect(forgedRefusals.map((e) => [e.action, e.details["method"], e.details["reason"]])).toEqual([
        ["auth.failed", "RevokeOperatorKey", "NOT_PLATFORM_OPERATOR"],
        ["auth.failed", "RegenerateOperatorKey", "NOT_PLATFORM_OPERATOR"],
        ["auth.failed", "CreateOrganization", "NOT_PLATFORM_OPERATOR"],
      ]);
      expect((await t.store.keys.findById(operator.organization.id, operator.key.id))?.secretHash).toBe(operator.key.secretHash);
    });

    describe("operator keys: rotating and revoking them (a leaked one, say)", () => {
      /** A second operator key in the operator's platform organization, which only the database can make. */
      const secondOperatorKey = (of: BootstrapResult) =>
        storedKey(of.organization.id, { ownerUserId: of.owner.id, scopes: [...of.key.scopes], rateLimit: of.key.rateLimit });

      const eventsOf = async (organizationId: string, action: string) => (await auditOf(organizationId)).filter((e) => e.action === action);

      it("rotates an operator key: the new secret is the operator; the old one answers TestKey during its grace period and no admin call", async () => {
        const leaked = await anOperator(t);
        const rotated = await operatorClientFor(t, leaked.secret).regenerateOperatorKey({ id: leaked.key.id, gracePeriodSeconds: 60 });
        expect(rotated.secret).toMatch(/^sk_live_/);
        expect(rotated.secret).not.toBe(leaked.secret);
        expect(rotated.key).toMatchObject({ id: leaked.key.id, organizationId: leaked.organization.id, keyPrefix: rotated.secret.slice(0, 12), scopes: leaked.key.scopes, isActive: true });
        expect(rotated.key!.previousSecretExpiresAt).toBeDefined();

        // The superseded secret, still inside its grace period, calls neither these RPCs nor any other admin one.
        for (const call of [
          () => operatorClientFor(t, leaked.secret).regenerateOperatorKey({ id: leaked.key.id }),
          () => operatorClientFor(t, leaked.secret).revokeOperatorKey({ id: leaked.key.id }),
          () => operatorClientFor(t, leaked.secret).getOrganization({ id: leaked.organization.id }),
          () => t.clientFor(leaked.secret).listKeys({}),
        ]) {
          expect(await failure(call())).toMatchObject({ code: Code.Unauthenticated, reason: "UNAUTHENTICATED" });
        }
        const current = t.clientFor(rotated.secret);
        expect(await current.testKey({ apiKey: leaked.secret })).toMatchObject({ valid: true, keyId: leaked.key.id });
        expect((await operatorClientFor(t, rotated.secret).getOrganization({ id: leaked.organization.id })).organization!.id).toBe(leaked.organization.id);
        clock.advance(61_000);
        expect(await current.testKey({ apiKey: leaked.secret })).toMatchObject({ valid: false, reason: "API_KEY_INVALID" });

        // Without a grace period the old secret stops at once.
        const again = await operatorClientFor(t, rotated.secret).regenerateOperatorKey({ id: leaked.key.id });
        expect(await t.clientFor(again.secret).testKey({ apiKey: rotated.secret })).toMatchObject({ valid: false, reason: "API_KEY_INVALID" });

        const rotations = await eventsOf(leaked.organization.id, "key.regenerate");
        expect(rotations.map((e) => [e.keyId, e.actorKeyId, e.details["gracePeriodSeconds"]])).toEqual([
          [leaked.key.id, leaked.key.id, "0"],
          [leaked.key.id, leaked.key.id, "60"],
        ]);
        const log = text([await auditOf(leaked.organization.id), t.logs]);
        for (const secret of [leaked.secret, rotated.secret, again.secret]) expect(log).not.toContain(secret.slice(12));
      });

      it("revokes an operator key, but never the platform organization's last active one", async () => {
        const platform = await anOperator(t);
        const second = await secondOperatorKey(platform);
        const api = operatorClientFor(t, platform.secret);

        const revoked = await api.revokeOperatorKey({ id: second.key.id, reason: "laptop stolen" });
        expect(revoked.key).toMatchObject({ id: second.key.id, isActive: false });
        expect(revoked.key!.revokedAt).toBeDefined();
        expect(await failure(operatorClientFor(t, second.secret).getOrganization({ id: platform.organization.id }))).toMatchObject({ code: Code.Unauthenticated });
        // Asked again later: the first revocation, recorded once.
        clock.advance(1000);
        expect((await api.revokeOperatorKey({ id: second.key.id, reason: "again" })).key).toEqual(revoked.key);

        const last = await failure(api.revokeOperatorKey({ id: platform.key.id, reason: "rotate everything" }));
        expect(last).toMatchObject({ code: Code.FailedPrecondition, field: "id" });
        expect(last.message).toContain("keygate bootstrap --operator");
        expect(await t.store.keys.findById(platform.organization.id, platform.key.id)).toEqual(platform.key);
        expect((await api.getOrganization({ id: platform.organization.id })).organization!.id).toBe(platform.organization.id);

        const revocations = await eventsOf(platform.organization.id, "key.revoke");
        expect(revocations.map((e) => [e.keyId, e.actorKeyId, e.details["reason"]])).toEqual([[second.key.id, platform.key.id, "laptop stolen"]]);
      });

      it("acts only on operator keys of the caller's own platform organization; any other key is refused or not found, and nothing changes", async () => {
        const platform = await anOperator(t);
        const otherPlatform = await anOperator(t);
        const tenant = await t.anotherOrganization();
        const api = operatorClientFor(t, platform.secret);
        const { key: plain } = await t.clientFor(platform.secret).createKey({ name: "ci", scopes: ["admin:read"] });
        const before = await t.store.keys.findById(platform.organization.id, plain!.id);

        for (const call of [() => api.regenerateOperatorKey({ id: plain!.id }), () => api.revokeOperatorKey({ id: plain!.id })]) {
          expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED", field: "id" });
        }
        for (const id of [otherPlatform.key.id, tenant.key.id, newId("key")]) {
          for (const call of [() => api.regenerateOperatorKey({ id }), () => api.revokeOperatorKey({ id })]) {
            expect(await failure(call())).toMatchObject({ code: Code.NotFound, reason: "API_KEY_NOT_FOUND" });
          }
        }

        expect(await t.store.keys.findById(platform.organization.id, plain!.id)).toEqual(before);
        expect(await t.store.keys.findById(otherPlatform.organization.id, otherPlatform.key.id)).toEqual(otherPlatform.key);
        expect(await t.store.keys.findById(tenant.organization.id, tenant.key.id)).toEqual(tenant.key);
        const refusals = (await eventsOf(platform.organization.id, "auth.failed")).filter((e) => e.keyId === plain!.id);
        expect(refusals.map((e) => [e.details["method"], e.details["reason"]])).toEqual([
          ["RevokeOperatorKey", "NOT_OPERATOR_KEY"],
          ["RegenerateOperatorKey", "NOT_OPERATOR_KEY"],
        ]);
      });

      it("refuses bad input naming the field, and changes nothing", async () => {
        const platform = await anOperator(t);
        const second = await secondOperatorKey(platform);
        const api = operatorClientFor(t, platform.secret);
        const cases: [() => Promise<unknown>, string][] = [
          [() => api.regenerateOperatorKey({ id: second.key.id, gracePeriodSeconds: -1 }), "grace_period_seconds"],
          [() => api.regenerateOperatorKey({ id: second.key.id, gracePeriodSeconds: 30 * 24 * 3600 + 1 }), "grace_period_seconds"],
          [() => api.regenerateOperatorKey({ id: "" }), "id"],
          [() => api.revokeOperatorKey({ id: second.key.id, reason: "gone\u001b[2J" }), "reason"],
          [() => api.revokeOperatorKey({ id: "" }), "id"],
        ];
        for (const [call, field] of cases) {
          expect(await failure(call())).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field });
        }
        expect(await t.store.keys.findById(platform.organization.id, second.key.id)).toEqual(second.key);
        expect(await eventsOf(platform.organization.id, "key.revoke")).toEqual([]);
      });
    });
  });
}
