import { createHash } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { KeyEvents } from "../keys/key-events.js";
import { settingsOf } from "../model/organization-settings.js";
import { organizationPlan, type PlanCatalog } from "../model/plans.js";
import type { KeyRecord, Organization } from "../model/records.js";
import type { LeakedKeyAction } from "../model/webhooks.js";
import { asSeen, KeyChangedError } from "../store/key-as-seen.js";
import type { Store } from "../store/store.js";
import { keyEventData, onceWebhookEvent } from "../webhooks/webhook-event.js";
import type { LeakedKey } from "./classify-tokens.js";
import type { LeakObserver } from "./leak-metrics.js";

/** Who the audit trail names for keygate's own changes (as the unused-keys sweep does). */
const KEYGATE_ACTOR = { actorKeyId: "keygate", actorUserId: "" } as const;

export interface ActOnLeaksDeps {
  store: Pick<Store, "keys" | "organizations" | "webhooks" | "atomically">;
  plans: PlanCatalog;
  audit: AuditTrail;
  keyEvents: KeyEvents;
  now: () => Date;
  observer: Pick<LeakObserver, "acted">;
}

/**
 * What a true positive gets: its organization's `leaked_key_action` (the key disabled or revoked,
 * or left as it is for `notify`), the `key.leaked` event with where it leaked and the audit entry
 * `key.leaked`, all in one unit of work, written on condition that the key is still as it was read;
 * then the change is announced so every cache, here and in other replicas, drops the key before its
 * next Check. GitHub sends a batch again when it got no answer: the event's id is derived from the
 * key, the token and the place, so a retry writes nothing twice (the store keeps an event id once)
 * and changes nothing further. A revoked key's leak changes nothing: the secret already opens nothing.
 */
export class ActOnLeaks {
  readonly #deps: ActOnLeaksDeps;

  constructor(deps: ActOnLeaksDeps) {
    this.#deps = deps;
  }

  async act(leaked: readonly LeakedKey[]): Promise<void> {
    for (const leak of leaked) await this.#actOn(leak);
  }

  async #actOn({ key, report }: LeakedKey): Promise<void> {
    if (key.revokedAt !== null) return;
    const { store, audit, keyEvents } = this.#deps;
    const organization = await store.organizations.findById(key.organizationId);
    if (!organization) return;
    const action = settingsOf(organization).leakedKeyAction;
    const at = this.#deps.now();
    const once = `${key.id}\0${createHash("sha256").update(report.token).digest("hex")}\0${report.url}`;
    let changed: KeyRecord | null;
    try {
      changed = await store.atomically(async () => {
        const after = await this.#apply(organization, key, action, at);
        if (after === null) return null;
        const event = onceWebhookEvent("key.leaked", key.organizationId, once, { ...keyEventData(after), url: report.url, source: report.source, action }, at);
        if ((await store.webhooks.enqueue(event)) === null) return null;
        await audit.record({
          ...KEYGATE_ACTOR,
          organizationId: key.organizationId,
          action: "key.leaked",
          keyId: key.id,
          details: { url: report.url, source: report.source, type: report.type, action },
        });
        return after;
      });
    } catch (error) {
      // Changed since it was read (an admin acted on it meanwhile): GitHub's retry, or the next
      // report, decides on it as it is then.
      if (error instanceof KeyChangedError) return;
      throw error;
    }
    if (changed === null) return;
    this.#deps.observer.acted(action);
    if (action !== "notify") keyEvents.changed(changed);
  }

  /** The key after the action, or null when it is gone. */
  async #apply(organization: Organization, key: KeyRecord, action: LeakedKeyAction, at: Date): Promise<KeyRecord | null> {
    const { store, plans } = this.#deps;
    if (action === "revoke") return store.keys.revoke(key.organizationId, key.id, at, asSeen(key));
    if (action === "notify" || !key.isActive) return key;
    const plan = organizationPlan(plans, organization.plan);
    // Disabling moves no slot (only a new owner takes one), so the plan's bounds are never reached.
    const slots = { organizationMax: plan.maxKeysPerOrganization, userMax: plan.maxKeysPerUser };
    const outcome = await store.keys.update(key.organizationId, key.id, { isActive: false, updatedAt: at }, slots, asSeen(key));
    return outcome.ok ? outcome.key : null;
  }
}
