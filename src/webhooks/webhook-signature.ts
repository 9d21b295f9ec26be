import { Webhook } from "standardwebhooks";
import type { SigningSecretSealing } from "../crypto/signing-secret-sealing.js";
import type { WebhookEndpointRecord } from "../model/webhooks.js";

/**
 * A delivery's Standard Webhooks headers, made by the `standardwebhooks` reference library so that
 * what receivers verify with the same library is exactly what was signed: `webhook-id` (the
 * event id, the same on every attempt, which receivers use to drop repeats), `webhook-timestamp`
 * (Unix seconds of this attempt; receivers refuse old ones, so a captured delivery cannot be
 * replayed later) and `webhook-signature`, `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one
 * per secret, space-separated.
 */

// A type, not an interface, so it is a Record<string, string> where headers are expected.
export type DeliveryHeaders = {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
};

export function signDelivery(eventId: string, payload: string, at: Date, secrets: readonly string[]): DeliveryHeaders {
  if (secrets.length === 0) throw new Error("a delivery is signed with at least one secret");
  return {
    "webhook-id": eventId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets.map((secret) => new Webhook(secret).sign(eventId, at, payload)).join(" "),
  };
}

/**
 * The secrets an endpoint's deliveries are signed with now: its secret, and during a rotation
 * (until `previousSecret.expiresAt`, 24 hours) the one before, so a receiver still verifying with
 * the old secret keeps accepting deliveries while it is switched over. Opening one that does not
 * open (AesGcmOpenError) throws: a delivery is never sent unsigned.
 */
export function signingSecrets(endpoint: WebhookEndpointRecord, sealing: SigningSecretSealing, now: Date): string[] {
  const secrets = [sealing.open(endpoint.secret, endpoint.id)];
  const previous = endpoint.previousSecret;
  if (previous && previous.expiresAt.getTime() > now.getTime()) secrets.push(sealing.open(previous.secret, endpoint.id));
  return secrets;
}
