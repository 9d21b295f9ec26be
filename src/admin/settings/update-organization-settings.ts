import { create } from "@bufbuild/protobuf";
import { UpdateOrganizationSettingsResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { OrganizationSettings } from "../../model/webhooks.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { adminError } from "../errors.js";
import { mayChangeSettings } from "../policy.js";
import { toOrganizationSettingsMessage } from "../webhook-mapping.js";
import { settingsOf } from "../../model/organization-settings.js";
import { settingsPatch } from "./settings-fields.js";

/** The settings by API name, as the audit entry lists what changed. */
const FIELD_NAMES: Readonly<Record<keyof OrganizationSettings, string>> = {
  expiryWarningDays: "expiry_warning_days",
  maxKeyLifetimeDays: "max_key_lifetime_days",
  disableUnusedKeysAfterDays: "disable_unused_keys_after_days",
  quotaThresholds: "quota_thresholds",
  leakedKeyAction: "leaked_key_action",
  responseCostHeader: "response_cost_header",
  creditsLowThresholdPercent: "credits_low_threshold_percent",
};

/**
 * UpdateOrganizationSettings: only the settings present change. Who may change which is the
 * policy's (policy/organization-rules.ts), weighed on the settings as they are and as they would
 * be; the change is audited with its new values (none of them secret).
 */
export function updateOrganizationSettings(parts: AdminParts): KeyAdminHandler<"updateOrganizationSettings"> {
  const { deps, allow, audit } = parts;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const patch = settingsPatch(req);
    const before = settingsOf(caller.organization);
    await allow(ctx, mayChangeSettings(caller.actor, before, { ...before, ...patch }));
    const updated = await deps.store.organizations.updateSettings(caller.organization.id, patch);
    // The caller's organization was there when the call was authenticated; it has gone since.
    if (!updated) throw adminError("UNAUTHENTICATED", "the API key's organization no longer exists");
    const fields = Object.keys(patch) as (keyof OrganizationSettings)[];
    await audit.changed(caller, {
      action: "settings.update",
      details: {
        fields: fields.map((field) => FIELD_NAMES[field]).join(","),
        ...Object.fromEntries(fields.map((field) => [field, String(patch[field])])),
      },
    });
    return create(UpdateOrganizationSettingsResponseSchema, { settings: toOrganizationSettingsMessage(settingsOf(updated)) });
  };
}
