import type { KeyRecord, User } from "../model/records.js";
import type { IdentityRecord } from "../model/identities.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { keyEventData, webhookEvent, type EventActor } from "../webhooks/webhook-event.js";
import type { WebhookEvent } from "../model/webhooks.js";
import type { Caller } from "./caller.js";

/** A change the admin API made, as its webhook event names it. */
export type AdminChange =
  | { type: "key.created" | "key.updated" | "key.rotated" | "key.deleted"; key: KeyRecord }
  /** With the reason the caller gave (RevokeKey's `reason`), which receivers act on. */
  | { type: "key.revoked"; key: KeyRecord; reason: string }
  | { type: "user.removed"; user: User }
  | { type: "identity.created" | "identity.updated" | "identity.deleted"; identity: IdentityRecord };

export interface ChangeEventsDeps {
  store: Store;
  clock: Clock;
}

/**
 * The webhook events of the admin API's changes, written with them: a change and its events are
 * one unit of work (Store.atomically), so they commit together or not at all, and no replica
 * dying between the two can lose an event or send one for a change that never happened. The
 * events carry the caller as their actor: the calling key and its user.
 *
 * Only what a write actually changed makes an event (a repeated revocation makes none); which
 * changes those are is the caller's to say from what the write returned (`changesOf`), since
 * only it knows what it asked for.
 */
export class ChangeEvents {
  constructor(private readonly deps: ChangeEventsDeps) {}

  /**
   * Runs `write` and queues the events of the changes `changesOf` finds in what it wrote, as one
   * unit: a failure to queue them undoes the write. `write` may run more than once (a unit that
   * lost a race runs again), so it must only write to the store.
   */
  write<T>(caller: Caller, write: () => Promise<T>, changesOf: (written: T) => readonly AdminChange[]): Promise<T> {
    const { store, clock } = this.deps;
    return store.atomically(async () => {
      const written = await write();
      const now = new Date(clock.now());
      for (const change of changesOf(written)) await store.webhooks.enqueue(eventOf(change, actorOf(caller), now));
      return written;
    });
  }
}

/** True when the fields events show of a key differ between two of its records (its update time aside). */
export function publicFieldsChanged(before: KeyRecord, after: KeyRecord): boolean {
  const shown = (key: KeyRecord) => JSON.stringify({ ...(keyEventData(key)["key"] as object), updated_at: undefined });
  return shown(before) !== shown(after);
}

const actorOf = (caller: Caller): EventActor => ({ keyId: caller.key.id, userId: caller.user.id });

function eventOf(change: AdminChange, actor: EventActor, now: Date): WebhookEvent {
  if (change.type === "user.removed") {
    const { user } = change;
    return webhookEvent(change.type, user.organizationId, userEventData(user, actor), now);
  }
  if ("identity" in change) return webhookEvent(change.type, change.identity.organizationId, identityEventData(change.identity, actor), now);
  const data = keyEventData(change.key, actor);
  return webhookEvent(change.type, change.key.organizationId, change.type === "key.revoked" ? { ...data, reason: change.reason } : data, now);
}

/** A removed user's public fields (those ListUsers shows, their limits aside) and the actor, as `user.removed` carries them. */
function userEventData(user: User, actor: EventActor): Record<string, unknown> {
  return {
    user: { id: user.id, organization_id: user.organizationId, name: user.name, role: user.role, created_at: user.createdAt.toISOString() },
    actor: { key_id: actor.keyId, user_id: actor.userId },
  };
}

/** An identity's fields as GetIdentity shows them, and the actor, as `identity.*` events carry them. */
function identityEventData(identity: IdentityRecord, actor: EventActor): Record<string, unknown> {
  return {
    identity: {
      id: identity.id,
      organization_id: identity.organizationId,
      external_id: identity.externalId,
      name: identity.name,
      meta: identity.meta,
      limits: identity.limits.map(({ name, limit, period }) => ({ name, limit, period })),
      credits: identity.credits && { remaining: identity.credits.remaining, refill: identity.credits.refill },
      created_at: identity.createdAt.toISOString(),
      updated_at: identity.updatedAt.toISOString(),
    },
    actor: { key_id: actor.keyId, user_id: actor.userId },
  };
}
