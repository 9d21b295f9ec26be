import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { adminParts } from "./admin-parts.js";
import type { KeyAdminDeps } from "./key-admin-deps.js";
import { identityAdministration } from "./identities/identity-administration.js";
import { keyLifecycle } from "./keys/key-lifecycle.js";
import { settingsAdministration } from "./settings/settings-administration.js";
import { usageHandlers } from "./usage/usage-service.js";
import { userAdministration } from "./user-admin-service.js";
import type { WebhookAdminDeps } from "./webhooks/webhook-admin-deps.js";
import { webhookAdministration } from "./webhooks/webhook-administration.js";

/**
 * Every KeyAdminService handler: the key lifecycle (keys/), an organization's users, its usage
 * (usage/), its webhooks (webhooks/), its settings (settings/) and its identities (identities/).
 */
export function keyAdministration(deps: KeyAdminDeps, webhooks: WebhookAdminDeps): ServiceImpl<typeof KeyAdminService> {
  const parts = adminParts(deps);
  return {
    ...keyLifecycle(parts),
    ...userAdministration(parts),
    ...usageHandlers({ ...deps.usage, store: deps.store, clock: deps.clock }),
    ...webhookAdministration(parts, webhooks),
    ...settingsAdministration(parts),
    ...identityAdministration(parts),
  };
}
