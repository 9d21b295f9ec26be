import type { Organization } from "./records.js";
import { DEFAULT_ORGANIZATION_SETTINGS as DEFAULTS, type OrganizationSettings } from "./webhooks.js";

/**
 * An organization's settings in force: the ones it set, and the defaults for the rest. A setting
 * left undefined or stored as null (a document written before the setting existed) is the
 * default, never a value that overrides it.
 */
export function settingsOf(organization: Pick<Organization, "settings">): OrganizationSettings {
  const own = organization.settings ?? {};
  return {
    expiryWarningDays: own.expiryWarningDays ?? DEFAULTS.expiryWarningDays,
    maxKeyLifetimeDays: own.maxKeyLifetimeDays ?? DEFAULTS.maxKeyLifetimeDays,
    disableUnusedKeysAfterDays: own.disableUnusedKeysAfterDays ?? DEFAULTS.disableUnusedKeysAfterDays,
    // A copy: the defaults' array is frozen and shared.
    quotaThresholds: [...(own.quotaThresholds ?? DEFAULTS.quotaThresholds)],
    leakedKeyAction: own.leakedKeyAction ?? DEFAULTS.leakedKeyAction,
    responseCostHeader: own.responseCostHeader ?? DEFAULTS.responseCostHeader,
    creditsLowThresholdPercent: own.creditsLowThresholdPercent ?? DEFAULTS.creditsLowThresholdPercent,
  };
}
