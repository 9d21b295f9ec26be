import { create } from "@bufbuild/protobuf";
import { GetOrganizationSettingsResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { toOrganizationSettingsMessage } from "../webhook-mapping.js";
import { settingsOf } from "../../model/organization-settings.js";

/** GetOrganizationSettings: the caller's organization's settings, as read when the call was authenticated, defaults filled in. */
export function getOrganizationSettings(): KeyAdminHandler<"getOrganizationSettings"> {
  return async (_req, ctx) => {
    const caller = callerOf(ctx);
    return create(GetOrganizationSettingsResponseSchema, { settings: toOrganizationSettingsMessage(settingsOf(caller.organization)) });
  };
}
