import { createHash } from "node:crypto";
import { newId } from "../model/ids.js";
import type { KeyRecord } from "../model/records.js";
import type { WebhookEvent, WebhookEventType } from "../model/webhooks.js";

/** Who made a change, as events name them: the calling key and its user; absent for keygate's own. */
export interface EventActor {
  keyId: string;
  userId: string;
}

/** Crockford base32, as ids use, for derived event ids. */
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * An event with a new id: one occurrence of something (a key revoked), which is never the same
 * occurrence as another.
 */
export function webhookEvent(type: WebhookEventType, organizationId: string, data: Record<string, unknown>, now: Date): WebhookEvent {
  return eventWithId(newId("msg", now.getTime()), type, organizationId, data, now);
}

/**
 * An event that must happen once (a key's expiry warning, a quota threshold in a month): its id
 * is derived from the organization, the type and `once` (what makes it that occurrence, such as
 * the key id and its expiry), so every replica and every pass that makes it makes the same
 * event, and the store queues it only the first time (WebhookRepository.enqueue).
 */
export function onceWebhookEvent(
  type: WebhookEventType,
  organizationId: string,
  once: string,
  data: Record<string, unknown>,
  now: Date,
  /** Until when it may be made again, when that is longer than the outbox's retention (WebhookEvent.rememberUntil). */
  rememberUntil?: Date,
): WebhookEvent {
  const event = eventWithId(onceEventId(type, organizationId, once), type, organizationId, data, now);
  return rememberUntil === undefined ? event : { ...event, rememberUntil };
}

/** The id onceWebhookEvent gives this occurrence: asked of the store before the change it stands for is made. */
export function onceEventId(type: WebhookEventType, organizationId: string, once: string): string {
  const digest = createHash("sha256").update(`${organizationId}\0${type}\0${once}`).digest();
  let id = "";
  for (let i = 0; i < 26; i++) id += CROCKFORD[digest[i]! & 31];
  return `msg_${id}`;
}

function eventWithId(id: string, type: WebhookEventType, organizationId: string, data: Record<string, unknown>, now: Date): WebhookEvent {
  // The body is fixed here, once: every attempt and redelivery sends these bytes.
  const payload = JSON.stringify({ type, timestamp: now.toISOString(), data });
  return { id, organizationId, type, occurredAt: now, payload };
}

/**
 * A key's public fields as events carry them, and the actor where one acted. Never its secret,
 * its hash or its sealed secret: only what ListKeys shows.
 */
export function keyEventData(key: KeyRecord, actor?: EventActor): Record<string, unknown> {
  return {
    key: {
      id: key.id,
      organization_id: key.organizationId,
      name: key.name,
      description: key.description,
      key_prefix: key.keyPrefix,
      environment: key.environment,
      key_type: key.keyType,
      owner_user_id: key.ownerUserId,
      scopes: key.scopes,
      allow_ips: key.allowIps,
      rate_limit: key.rateLimit && { limit: key.rateLimit.limit, period: key.rateLimit.period },
      is_active: key.isActive,
      revoked_at: key.revokedAt?.toISOString() ?? null,
      expires_at: key.expiresAt?.toISOString() ?? null,
      // Until when the secret a rotation replaced still works (GetKey's previous_secret_expires_at).
      previous_secret_expires_at: key.previousSecret?.expiresAt.toISOString() ?? null,
      limits: (key.limits ?? []).map(({ name, limit, period }) => ({ name, limit, period })),
      credits: key.credits ? { remaining: key.credits.remaining, refill: key.credits.refill } : null,
      identity_id: key.identityId ?? null,
      created_at: key.createdAt.toISOString(),
      updated_at: key.updatedAt.toISOString(),
    },
    ...(actor && { actor: { key_id: actor.keyId, user_id: actor.userId } }),
  };
}
