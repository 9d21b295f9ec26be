import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { Organization } from "../../../src/model/records.js";
import type { Store } from "../../../src/store/store.js";
import { T0 } from "../../support/records.js";

/** Organizations: created, found, counted, and their plan changed. */
export function describeOrganizationsContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  describe("organizations", () => {
    const anOrganization = (): Organization => ({
      id: newId("org"),
      name: "Acme Robotics",
      plan: "team",
      createdAt: T0,
    });

    it("creates, finds and counts organizations", async () => {
      const before = await store.organizations.count();
      const organizations = [anOrganization(), anOrganization(), { ...anOrganization(), plan: "enterprise" }];
      for (const organization of organizations) await store.organizations.create(organization);
      expect(await store.organizations.count()).toBe(before + 3);
      for (const organization of organizations) {
        expect(await store.organizations.findById(organization.id)).toStrictEqual(organization);
      }
      expect(await store.organizations.findById(newId("org"))).toBeNull();
    });

    it("rejects a duplicate id", async () => {
      const organization = anOrganization();
      await store.organizations.create(organization);
      const before = await store.organizations.count();
      await expect(store.organizations.create({ ...organization, name: "Impostor" })).rejects.toThrow(/duplicate/);
      expect(await store.organizations.count()).toBe(before);
      expect(await store.organizations.findById(organization.id)).toStrictEqual(organization);
    });
  });

  describe("organizations: plan and kind", () => {
    it("keeps the platform kind and changes the plan", async () => {
      const platform: Organization = { id: newId("org"), name: "operators", plan: "pro", createdAt: T0, kind: "platform" };
      await store.organizations.create(platform);
      expect(await store.organizations.findById(platform.id)).toStrictEqual(platform);
      const tenant: Organization = { id: newId("org"), name: "Acme", plan: "free", createdAt: T0 };
      await store.organizations.create(tenant);
      expect(await store.organizations.setPlan(tenant.id, "enterprise")).toStrictEqual({ ...tenant, plan: "enterprise" });
      expect(await store.organizations.findById(tenant.id)).toStrictEqual({ ...tenant, plan: "enterprise" });
      expect(await store.organizations.setPlan(newId("org"), "pro")).toBeNull();
    });
  });

  describe("organizations: settings", () => {
    it("sets the settings given and keeps the others", async () => {
      const organization: Organization = { id: newId("org"), name: "Acme", plan: "team", createdAt: T0 };
      await store.organizations.create(organization);
      const first = { ...organization, settings: { expiryWarningDays: 14, quotaThresholds: [50, 90, 100] } };
      expect(await store.organizations.updateSettings(organization.id, { expiryWarningDays: 14, quotaThresholds: [50, 90, 100] })).toStrictEqual(first);
      const second = { ...organization, settings: { expiryWarningDays: 14, quotaThresholds: [100], disableUnusedKeysAfterDays: 90, maxKeyLifetimeDays: 0 } };
      expect(
        await store.organizations.updateSettings(organization.id, { quotaThresholds: [100], disableUnusedKeysAfterDays: 90, maxKeyLifetimeDays: 0 }),
      ).toStrictEqual(second);
      expect(await store.organizations.findById(organization.id)).toStrictEqual(second);
      expect(await store.organizations.setPlan(organization.id, "pro")).toStrictEqual({ ...second, plan: "pro" });
      expect(await store.organizations.updateSettings(newId("org"), { expiryWarningDays: 3 })).toBeNull();
    });

    it("lists the organizations that disable unused keys, in id order, a page at a time", async () => {
      const made: Organization[] = [];
      for (const days of [30, 0, 90, undefined, 7]) {
        const organization: Organization = { id: newId("org"), name: `days ${days}`, plan: "team", createdAt: T0 };
        await store.organizations.create(organization);
        if (days !== undefined) await store.organizations.updateSettings(organization.id, { disableUnusedKeysAfterDays: days });
        made.push(organization);
      }
      const ours = new Set(made.map((organization) => organization.id));
      const walked: string[] = [];
      let afterId: string | undefined;
      for (;;) {
        const page = await store.organizations.listDisablingUnusedKeys({ limit: 2, ...(afterId !== undefined && { afterId }) });
        if (page.length === 0) break;
        walked.push(...page.map((organization) => organization.id));
        afterId = page.at(-1)!.id;
      }
      expect(walked).toEqual([...walked].sort());
      expect(walked.filter((id) => ours.has(id))).toEqual([made[0]!.id, made[2]!.id, made[4]!.id]);
    });
  });
}
