import type { Organization } from "../../model/records.js";
import { DEFAULT_ORGANIZATION_SETTINGS, type OrganizationSettings } from "../../model/webhooks.js";

/** The organization's settings as they apply: those it set, and the defaults for the rest. */
export function organizationSettings(organization: Pick<Organization, "settings">): OrganizationSettings {
  const set = organization.settings ?? {};
  return {
    expiryWarningDays: set.expiryWarningDays ?? DEFAULT_ORGANIZATION_SETTINGS.expiryWarningDays,
    maxKeyLifetimeDays: set.maxKeyLifetimeDays ?? DEFAULT_ORGANIZATION_SETTINGS.maxKeyLifetimeDays,
    disableUnusedKeysAfterDays: set.disableUnusedKeysAfterDays ?? DEFAULT_ORGANIZATION_SETTINGS.disableUnusedKeysAfterDays,
    quotaThresholds: [...(set.quotaThresholds ?? DEFAULT_ORGANIZATION_SETTINGS.quotaThresholds)],
  };
}
