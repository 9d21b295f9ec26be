import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { adminParts } from "./admin-parts.js";
import type { KeyAdminDeps } from "./key-admin-deps.js";
import { keyLifecycle } from "./keys/key-lifecycle.js";
import { usageHandlers } from "./usage/usage-service.js";
import { userAdministration } from "./user-admin-service.js";

/** Every KeyAdminService handler: the key lifecycle (keys/), an organization's users, and its usage (usage/). */
export function keyAdministration(deps: KeyAdminDeps): ServiceImpl<typeof KeyAdminService> {
  const parts = adminParts(deps);
  return { ...keyLifecycle(parts), ...userAdministration(parts), ...usageHandlers({ ...deps.usage, store: deps.store, clock: deps.clock }) };
}
