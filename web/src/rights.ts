import { UserRole, type GetMyLimitsResponse } from "../../gen/keygate/v1/key_admin_pb.js";
import { choices } from "./choices.js";

/**
 * What the signed-in user may change, so the console shows only the buttons they can use. The
 * server still decides every call (src/admin/policy); this mirrors its rules for identities:
 * owners and admins manage them, members read them and tie their own keys to them.
 */

export function managesIdentities(limits: GetMyLimitsResponse): boolean {
  const role = limits.role === UserRole.OWNER || limits.role === UserRole.ADMIN;
  // Changes also need the key's admin:write. available_scopes shows the key's admin scopes only
  // to a user who may create admin keys; for the others the server is left to say.
  const writes = !limits.canCreateAdminKeys || limits.availableScopes.includes("admin:write");
  return role && writes;
}

/** Whether to offer identity changes: false when the caller's rights cannot be read (the page stays readable). */
export function mayManageIdentities(): Promise<boolean> {
  return choices().then(
    ({ limits }) => managesIdentities(limits),
    () => false,
  );
}
