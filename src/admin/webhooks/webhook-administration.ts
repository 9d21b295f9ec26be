import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { AdminParts } from "../admin-parts.js";
import { createWebhookEndpoint } from "./create-webhook-endpoint.js";
import { deleteWebhookEndpoint } from "./delete-webhook-endpoint.js";
import { listWebhookDeliveries } from "./list-webhook-deliveries.js";
import { listWebhookEndpoints } from "./list-webhook-endpoints.js";
import { redeliverWebhook } from "./redeliver-webhook.js";
import { rotateWebhookSecret } from "./rotate-webhook-secret.js";
import { sendTestWebhook } from "./send-test-webhook.js";
import { updateWebhookEndpoint } from "./update-webhook-endpoint.js";
import type { WebhookAdminDeps } from "./webhook-admin-deps.js";

export type WebhookAdministration = Pick<
  ServiceImpl<typeof KeyAdminService>,
  | "createWebhookEndpoint"
  | "listWebhookEndpoints"
  | "updateWebhookEndpoint"
  | "deleteWebhookEndpoint"
  | "rotateWebhookSecret"
  | "sendTestWebhook"
  | "listWebhookDeliveries"
  | "redeliverWebhook"
>;

/**
 * The organization's webhook endpoints and their deliveries (docs/webhooks.md), one handler per
 * file beside this one. Every handler acts inside the caller's organization: another
 * organization's endpoint or delivery is answered exactly as a missing one. Changes are the
 * policy's to allow (policy/organization-rules.ts) and audited; a signing secret appears only in
 * the answer that made it.
 */
export function webhookAdministration(parts: AdminParts, webhooks: WebhookAdminDeps): WebhookAdministration {
  const { deps } = parts;
  return {
    createWebhookEndpoint: createWebhookEndpoint(parts, webhooks),
    listWebhookEndpoints: listWebhookEndpoints(deps),
    updateWebhookEndpoint: updateWebhookEndpoint(parts, webhooks),
    deleteWebhookEndpoint: deleteWebhookEndpoint(parts),
    rotateWebhookSecret: rotateWebhookSecret(parts, webhooks),
    sendTestWebhook: sendTestWebhook(parts),
    listWebhookDeliveries: listWebhookDeliveries(deps),
    redeliverWebhook: redeliverWebhook(parts),
  };
}
