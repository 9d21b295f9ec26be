import { create } from "@bufbuild/protobuf";
import { CreateWebhookEndpointResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../model/ids.js";
import type { WebhookEndpointRecord } from "../../model/webhooks.js";
import { newSigningSecret } from "../../webhooks/signing-secret.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { adminError } from "../errors.js";
import { mayManageWebhooks } from "../policy.js";
import { toWebhookEndpoint } from "../webhook-mapping.js";
import type { WebhookAdminDeps } from "./webhook-admin-deps.js";
import { endpointDetails } from "./webhook-audit.js";
import { validEndpointDescription, validEventTypes, validTargetUrl } from "./webhook-fields.js";

/**
 * How many endpoints an organization may register: every event is queued once per endpoint that
 * takes it, so this bounds the deliveries one change makes.
 */
export const MAX_ENDPOINTS_PER_ORGANIZATION = 20;

/** CreateWebhookEndpoint: a new endpoint, enabled, and its signing secret, shown in this answer only. */
export function createWebhookEndpoint(parts: AdminParts, webhooks: WebhookAdminDeps): KeyAdminHandler<"createWebhookEndpoint"> {
  const { deps, allow, audit } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const url = validTargetUrl(req.url, webhooks.allowInsecureTargets);
    const eventTypes = validEventTypes(req.eventTypes);
    const description = validEndpointDescription(req.description);
    await allow(ctx, mayManageWebhooks(caller.actor));
    const now = new Date(clock.now());
    const id = newId("whe", now.getTime());
    const secret = newSigningSecret();
    const endpoint: WebhookEndpointRecord = {
      id,
      organizationId: caller.organization.id,
      url,
      eventTypes,
      description,
      enabled: true,
      disabledReason: "",
      secret: webhooks.sealing.seal(secret, id),
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
    // The store checks the limit as it inserts: creations racing for the last place never both get it.
    const outcome = await store.webhooks.createEndpoint(endpoint, { maxPerOrganization: MAX_ENDPOINTS_PER_ORGANIZATION });
    if (outcome === "limit_reached") {
      throw adminError(
        "WEBHOOK_ENDPOINT_LIMIT_EXCEEDED",
        `the organization has ${MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints, the most it may have; delete one first`,
        { limit: String(MAX_ENDPOINTS_PER_ORGANIZATION) },
      );
    }
    await audit.changed(caller, { action: "webhook.create", details: { ...endpointDetails(endpoint), eventTypes: eventTypes.join(",") || "*" } });
    return create(CreateWebhookEndpointResponseSchema, { endpoint: toWebhookEndpoint(endpoint), signingSecret: secret });
  };
}
