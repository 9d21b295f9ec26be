import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { AdminParts } from "../admin-parts.js";
import { createIdentity } from "./create-identity.js";
import { deleteIdentity } from "./delete-identity.js";
import { getIdentity } from "./get-identity.js";
import { getIdentityUsage } from "./get-identity-usage.js";
import { listIdentities } from "./list-identities.js";
import { updateIdentity } from "./update-identity.js";

export type IdentityAdministration = Pick<
  ServiceImpl<typeof KeyAdminService>,
  "createIdentity" | "getIdentity" | "listIdentities" | "updateIdentity" | "deleteIdentity" | "getIdentityUsage"
>;

/**
 * The organization's identities (docs/identities.md), one handler per file beside this one. Every
 * handler acts inside the caller's organization: another organization's identity is answered
 * exactly as a missing one. Changes are the policy's to allow (policy/organization-rules.ts),
 * audited, and sent as `identity.*` webhook events written with them.
 */
export function identityAdministration(parts: AdminParts): IdentityAdministration {
  const { deps } = parts;
  return {
    createIdentity: createIdentity(parts),
    getIdentity: getIdentity(deps),
    listIdentities: listIdentities(deps),
    updateIdentity: updateIdentity(parts),
    deleteIdentity: deleteIdentity(parts),
    getIdentityUsage: getIdentityUsage(deps),
  };
}
