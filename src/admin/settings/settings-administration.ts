import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { AdminParts } from "../admin-parts.js";
import { getOrganizationSettings } from "./get-organization-settings.js";
import { updateOrganizationSettings } from "./update-organization-settings.js";

export type SettingsAdministration = Pick<ServiceImpl<typeof KeyAdminService>, "getOrganizationSettings" | "updateOrganizationSettings">;

/** The caller's organization's key lifecycle and notification settings (model/webhooks.ts), defaults filled in. */
export function settingsAdministration(parts: AdminParts): SettingsAdministration {
  return {
    getOrganizationSettings: getOrganizationSettings(),
    updateOrganizationSettings: updateOrganizationSettings(parts),
  };
}
