import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import { failure } from "./answers.js";
import type { StoreMaker } from "./clients.js";
import { webhookServiceOn, type WebhookService } from "./webhook-service.js";

/**
 * GetOrganizationSettings and UpdateOrganizationSettings through the whole KeyAdminService:
 * defaults, changes of only what is present, bounds, who may change which setting, and each
 * organization's settings its own.
 */

const DEFAULTS = { expiryWarningDays: 7, maxKeyLifetimeDays: 0, disableUnusedKeysAfterDays: 0, quotaThresholds: [80, 100], creditsLowThresholdPercent: 10 };

export function describeSettings(storeName: string, makeStore: StoreMaker): void {
  describe(`organization settings on the ${storeName} store`, () => {
    let s: WebhookService;
    webhookServiceOn(makeStore, { allowInsecureTargets: false }, (service) => (s = service));

    it("answers the defaults for an organization that set nothing", async () => {
      const { owner } = await s.organization();
      expect((await owner.getOrganizationSettings({})).settings).toMatchObject(DEFAULTS);
    });

    it("changes only the settings present, quota_thresholds only with set_quota_thresholds, and audits the new values", async () => {
      const { org, owner } = await s.organization();
      const first = (await owner.updateOrganizationSettings({ expiryWarningDays: 14 })).settings;
      expect(first).toMatchObject({ ...DEFAULTS, expiryWarningDays: 14 });
      const second = (await owner.updateOrganizationSettings({ maxKeyLifetimeDays: 90, disableUnusedKeysAfterDays: 30, setQuotaThresholds: true, quotaThresholds: [50, 75, 90] })).settings;
      expect(second).toMatchObject({ expiryWarningDays: 14, maxKeyLifetimeDays: 90, disableUnusedKeysAfterDays: 30, quotaThresholds: [50, 75, 90] });
      expect((await owner.getOrganizationSettings({})).settings).toEqual(second);
      // Zero turns the lifecycle settings off again; an empty list turns quota alerts off.
      const off = (await owner.updateOrganizationSettings({ maxKeyLifetimeDays: 0, setQuotaThresholds: true })).settings;
      expect(off).toMatchObject({ expiryWarningDays: 14, maxKeyLifetimeDays: 0, disableUnusedKeysAfterDays: 30, quotaThresholds: [] });
      expect((await s.store.organizations.findById(org.organization.id))!.settings).toEqual({ expiryWarningDays: 14, maxKeyLifetimeDays: 0, disableUnusedKeysAfterDays: 30, quotaThresholds: [] });

      const entries = (await owner.listAuditEvents({ pageSize: 10 })).events.filter((e) => e.action === "settings.update");
      expect(entries.map((e) => e.details)).toEqual([
        { fields: "max_key_lifetime_days,quota_thresholds", maxKeyLifetimeDays: "0", quotaThresholds: "" },
        {
          fields: "max_key_lifetime_days,disable_unused_keys_after_days,quota_thresholds",
          maxKeyLifetimeDays: "90",
          disableUnusedKeysAfterDays: "30",
          quotaThresholds: "50,75,90",
        },
        { fields: "expiry_warning_days", expiryWarningDays: "14" },
      ]);
    });

    it("sets credits_low_threshold_percent, 0 turning key.credits_low off, and audits it", async () => {
      const { org, owner } = await s.organization();
      expect((await owner.updateOrganizationSettings({ creditsLowThresholdPercent: 25 })).settings).toMatchObject({ ...DEFAULTS, creditsLowThresholdPercent: 25 });
      expect((await owner.getOrganizationSettings({})).settings?.creditsLowThresholdPercent).toBe(25);
      expect((await owner.updateOrganizationSettings({ creditsLowThresholdPercent: 0 })).settings?.creditsLowThresholdPercent).toBe(0);
      expect((await s.store.organizations.findById(org.organization.id))!.settings).toEqual({ creditsLowThresholdPercent: 0 });
      const entries = (await owner.listAuditEvents({ pageSize: 10 })).events.filter((e) => e.action === "settings.update");
      expect(entries.map((e) => e.details)).toEqual([
        { fields: "credits_low_threshold_percent", creditsLowThresholdPercent: "0" },
        { fields: "credits_low_threshold_percent", creditsLowThresholdPercent: "25" },
      ]);
    });

    it.each([
      ["credits_low_threshold_percent 101", { creditsLowThresholdPercent: 101 }, "credits_low_threshold_percent"],
      ["a negative credits_low_threshold_percent", { creditsLowThresholdPercent: -1 }, "credits_low_threshold_percent"],
      ["expiry_warning_days 0", { expiryWarningDays: 0 }, "expiry_warning_days"],
      ["expiry_warning_days 366", { expiryWarningDays: 366 }, "expiry_warning_days"],
      ["a negative max_key_lifetime_days", { maxKeyLifetimeDays: -1 }, "max_key_lifetime_days"],
      ["max_key_lifetime_days 3651", { maxKeyLifetimeDays: 3651 }, "max_key_lifetime_days"],
      ["a negative disable_unused_keys_after_days", { disableUnusedKeysAfterDays: -1 }, "disable_unused_keys_after_days"],
      ["disable_unused_keys_after_days 3651", { disableUnusedKeysAfterDays: 3651 }, "disable_unused_keys_after_days"],
      ["a threshold of 0", { setQuotaThresholds: true, quotaThresholds: [0, 50] }, "quota_thresholds[0]"],
      ["a threshold over 100", { setQuotaThresholds: true, quotaThresholds: [50, 101] }, "quota_thresholds[1]"],
      ["a repeated threshold", { setQuotaThresholds: true, quotaThresholds: [50, 50] }, "quota_thresholds[1]"],
      ["descending thresholds", { setQuotaThresholds: true, quotaThresholds: [10, 90, 80] }, "quota_thresholds[2]"],
      ["11 thresholds", { setQuotaThresholds: true, quotaThresholds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }, "quota_thresholds"],
      ["quota_thresholds without set_quota_thresholds", { quotaThresholds: [50] }, "set_quota_thresholds"],
    ])("refuses %s naming the field, and changes nothing (not even the valid settings beside it)", async (_case, request, field) => {
      const { owner } = await s.organization();
      const refused = await failure(owner.updateOrganizationSettings({ expiryWarningDays: 30, ...request }));
      expect(refused).toMatchObject({ code: Code.InvalidArgument, reason: "API_KEY_FIELD_INVALID", field });
      expect(refused.message.startsWith(`${field}: `)).toBe(true);
      expect((await owner.getOrganizationSettings({})).settings).toMatchObject(DEFAULTS);
    });

    it("keeps each organization's settings its own", async () => {
      const { owner } = await s.organization();
      const other = await s.organization();
      await owner.updateOrganizationSettings({ expiryWarningDays: 3, setQuotaThresholds: true, quotaThresholds: [95] });
      expect((await other.owner.getOrganizationSettings({})).settings).toMatchObject(DEFAULTS);
    });

    describe("who may change them", () => {
      it("lets admin:read and members read them, and refuses them every change", async () => {
        const { owner } = await s.organization();
        const { secret } = await owner.createKey({ name: "reader", scopes: ["admin:read"] });
        const reader = s.clientFor(secret);
        const member = await s.actingAs(owner, UserRole.MEMBER);
        for (const client of [reader, member.client]) {
          expect((await client.getOrganizationSettings({})).settings).toMatchObject(DEFAULTS);
          expect(await failure(client.updateOrganizationSettings({ expiryWarningDays: 1 }))).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
        }
        expect((await owner.getOrganizationSettings({})).settings).toMatchObject(DEFAULTS);
        const refusals = (await owner.listAuditEvents({ pageSize: 100 })).events.filter((e) => e.action === "auth.failed");
        expect(refusals.map((e) => e.details["reason"]).sort()).toEqual(["SCOPE_MISSING", "SETTINGS_NOT_MANAGED"]);
      });

      it("lets an admin change the notification settings but not the key lifecycle ones, which reach owners' keys", async () => {
        const { owner } = await s.organization();
        const admin = await s.actingAs(owner, UserRole.ADMIN);
        await admin.client.updateOrganizationSettings({ expiryWarningDays: 10, setQuotaThresholds: true, quotaThresholds: [90], creditsLowThresholdPercent: 5 });
        for (const [request, field] of [
          [{ maxKeyLifetimeDays: 30 }, "max_key_lifetime_days"],
          [{ disableUnusedKeysAfterDays: 60, expiryWarningDays: 12 }, "disable_unused_keys_after_days"],
        ] as const) {
          expect(await failure(admin.client.updateOrganizationSettings(request))).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED", field });
        }
        // Sent with their current values (a form sending every field), they change nothing and pass.
        await admin.client.updateOrganizationSettings({ expiryWarningDays: 11, maxKeyLifetimeDays: 0, disableUnusedKeysAfterDays: 0 });
        expect((await owner.getOrganizationSettings({})).settings).toMatchObject({ ...DEFAULTS, expiryWarningDays: 11, quotaThresholds: [90], creditsLowThresholdPercent: 5 });

        await owner.updateOrganizationSettings({ maxKeyLifetimeDays: 30, disableUnusedKeysAfterDays: 60 });
        expect((await admin.client.getOrganizationSettings({})).settings).toMatchObject({ maxKeyLifetimeDays: 30, disableUnusedKeysAfterDays: 60 });
      });
    });
  });
}
