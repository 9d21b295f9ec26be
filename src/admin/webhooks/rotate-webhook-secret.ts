import { create } from "@bufbuild/protobuf";
import { RotateWebhookSecretResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { newSigningSecret } from "../../webhooks/signing-secret.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { mayManageWebhooks } from "../policy.js";
import { requiredId } from "../validation.js";
import type { WebhookAdminDeps } from "./webhook-admin-deps.js";
import { endpointDetails } from "./webhook-audit.js";
import { endpointNotFound } from "./webhook-lookups.js";

/**
 * How long deliveries keep signing with the secret a rotation replaced (the contract: both
 * signatures for 24 hours), so a receiver can switch to the new one without missing a delivery.
 */
export const PREVIOUS_SECRET_LIFETIME_MS = 24 * 60 * 60 * 1000;

/**
 * RotateWebhookSecret: a new signing secret, shown in this answer only. The one it replaces stays
 * as the previous secret for 24 hours; one replaced earlier is no longer used.
 *
 * The store takes the secret being replaced from the endpoint as it is when it writes, in the
 * same atomic write (rotateSecret), rather than from a read made here: two rotations at once then
 * come out as one after the other, the later keeping the earlier's new secret as its previous
 * one, and both succeed (of three at once, the first's secret goes, as it would were they made in
 * turn: an endpoint keeps one previous secret). Conditioning the write on the secret as read and
 * answering `aborted` when it changed would lose nothing either, but would refuse a rotation as
 * good as the other (each caller asked for a new secret and gets one) and leave the retry to the
 * caller.
 */
export function rotateWebhookSecret(parts: AdminParts, webhooks: WebhookAdminDeps): KeyAdminHandler<"rotateWebhookSecret"> {
  const { deps, allow, audit } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const id = requiredId(req.id);
    await allow(ctx, mayManageWebhooks(caller.actor));
    const now = new Date(clock.now());
    const secret = newSigningSecret();
    const expiresAt = new Date(now.getTime() + PREVIOUS_SECRET_LIFETIME_MS);
    const rotated = await store.webhooks.rotateSecret(caller.organization.id, id, webhooks.sealing.seal(secret, id), expiresAt, now);
    if (!rotated) throw endpointNotFound(req.id, "id");
    await audit.changed(caller, { action: "webhook.rotate_secret", details: { ...endpointDetails(rotated), previousSecretExpiresAt: expiresAt.toISOString() } });
    return create(RotateWebhookSecretResponseSchema, { signingSecret: secret });
  };
}
