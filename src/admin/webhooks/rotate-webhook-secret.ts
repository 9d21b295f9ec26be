import { create } from "@bufbuild/protobuf";
import { RotateWebhookSecretResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { newSigningSecret } from "../../webhooks/signing-secret.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { mayManageWebhooks } from "../policy.js";
import { requiredId } from "../validation.js";
import type { WebhookAdminDeps } from "./webhook-admin-deps.js";
import { endpointDetails } from "./webhook-audit.js";
import { endpointNotFound, existingEndpoint } from "./webhook-lookups.js";

/**
 * How long deliveries keep signing with the secret a rotation replaced (the contract: both
 * signatures for 24 hours), so a receiver can switch to the new one without missing a delivery.
 */
export const PREVIOUS_SECRET_LIFETIME_MS = 24 * 60 * 60 * 1000;

/**
 * RotateWebhookSecret: a new signing secret, shown in this answer only. The one it replaces stays
 * as the previous secret for 24 hours; one replaced earlier is no longer used.
 */
export function rotateWebhookSecret(parts: AdminParts, webhooks: WebhookAdminDeps): KeyAdminHandler<"rotateWebhookSecret"> {
  const { deps, allow, audit } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.id);
    await allow(ctx, mayManageWebhooks(caller.actor));
    const current = await existingEndpoint(store, caller, req.id);
    const now = new Date(clock.now());
    const secret = newSigningSecret();
    const expiresAt = new Date(now.getTime() + PREVIOUS_SECRET_LIFETIME_MS);
    const rotated = await store.webhooks.updateEndpoint(
      caller.organization.id,
      current.id,
      { secret: webhooks.sealing.seal(secret, current.id), previousSecret: { secret: current.secret, expiresAt } },
      now,
    );
    if (!rotated) throw endpointNotFound(req.id, "id");
    await audit.changed(caller, { action: "webhook.rotate_secret", details: { ...endpointDetails(rotated), previousSecretExpiresAt: expiresAt.toISOString() } });
    return create(RotateWebhookSecretResponseSchema, { signingSecret: secret });
  };
}
