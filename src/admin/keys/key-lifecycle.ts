import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import { createKey } from "./create-key.js";
import { deleteKey } from "./delete-key.js";
import { getKey } from "./get-key.js";
import { getMyLimits } from "./get-my-limits.js";
import type { AdminParts } from "../admin-parts.js";
import { listAuditEvents } from "./list-audit-events.js";
import { listKeys } from "./list-keys.js";
import { listScopes } from "./list-scopes.js";
import { regenerateKey } from "./regenerate-key.js";
import { revokeKey } from "./revoke-key.js";
import { testKey } from "./test-key.js";
import { updateKey } from "./update-key.js";

export type KeyLifecycle = Pick<
  ServiceImpl<typeof KeyAdminService>,
  | "createKey"
  | "listKeys"
  | "getKey"
  | "updateKey"
  | "deleteKey"
  | "revokeKey"
  | "regenerateKey"
  | "testKey"
  | "listScopes"
  | "getMyLimits"
  | "listAuditEvents"
>;

/**
 * The key lifecycle of KeyAdminService, one handler per file beside this one. Every handler acts
 * inside the caller's organization: a key of another organization is indistinguishable from a
 * missing one. The one way out is a platform operator's `organization_id` on ListKeys and GetKey,
 * audited in that organization.
 */
export function keyLifecycle(parts: AdminParts): KeyLifecycle {
  const { deps } = parts;
  return {
    createKey: createKey(parts),
    listKeys: listKeys(parts),
    getKey: getKey(parts),
    updateKey: updateKey(parts),
    deleteKey: deleteKey(parts),
    revokeKey: revokeKey(parts),
    regenerateKey: regenerateKey(parts),
    testKey: testKey(deps),
    listScopes: listScopes(deps),
    getMyLimits: getMyLimits(deps),
    listAuditEvents: listAuditEvents(deps),
  };
}
