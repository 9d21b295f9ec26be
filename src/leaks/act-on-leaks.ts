import { createHash } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { KeyEvents } from "../keys/key-events.js";
import { settingsOf } from "../model/organization-settings.js";
import { organizationPlan, type PlanCatalog } from "../model/plans.js";
import type { KeyRecord, Organization } from "../model/records.js";
import type { DeletedKey } from "../store/deleted-key-repository.js";
import { asSeen, KeyChangedError } from "../store/key-as-seen.js";
import type { Store } from "../store/store.js";
import { keyEventData, onceEventId, onceWebhookEvent } from "../webhooks/webhook-event.js";
import type { LeakedKey } from "./classify-tokens.js";
import type { LeakObserver } from "./leak-metrics.js";
import { responseTo, type LeakResponse } from "./leak-response.js";

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

/** What a leak did: the key as events show it, and the change for the caches when there was one. */
interface Outcome {
  data: Record<string, unknown>;
  changed?: { key: KeyRecord; previously: KeyRecord };
}

/**
 * What a true positive gets (leak-response.ts says which response): the key disabled or revoked,
 * its previous secret's grace ended, or nothing changed; then in every case the `key.leaked` event
 * with where it leaked and the audit entry `key.leaked`, all in one unit of work, written on
 * condition that the key is still as it was read; then a change is announced so every cache, here
 * and in other replicas, drops the key before its next Check. GitHub sends a batch again when it
 * got no answer, and anyone may send a signed report again: the event's id is derived from the
 * key, the token and the place, and is looked for before anything is changed, so a report acted
 * on once changes nothing, writes nothing twice, and leaves alone a key an admin has re-enabled
 * since (as long as the store remembers the event: the outbox's retention).
 */
export class ActOnLeaks {
  readonly #deps: ActOnLeaksDeps;

  constructor(deps: ActOnLeaksDeps) {
    this.#deps = deps;
  }

  async act(leaked: readonly LeakedKey[]): Promise<void> {
    for (const leak of leaked) await this.#actOn(leak);
  }

  async #actOn(leak: LeakedKey): Promise<void> {
    const { store, audit, keyEvents } = this.#deps;
    const { report } = leak;
    const leakedKey = "deleted" in leak ? leak.deleted : leak.key;
    const organization = await store.organizations.findById(leakedKey.organizationId);
    if (!organization) return;
    const at = this.#deps.now();
    const response = "deleted" in leak ? "none" : responseTo(leak.key, leak.secret, settingsOf(organization).leakedKeyAction, at);
    // Which secret leaked, where a stored key has two.
    const secret: Record<string, string> = "deleted" in leak ? {} : { secret: leak.secret };
    const once = `${leakedKey.id}\0${createHash("sha256").update(report.token).digest("hex")}\0${report.url}`;
    let outcome: Outcome | null;
    try {
      outcome = await store.atomically(async () => {
        // Decided first: a report already acted on (a replay, which GitHub's signature over the
        // body alone cannot tell apart, or a retry after an admin re-enabled the key) changes
        // nothing, rather than disabling the key again with no event and no audit entry.
        if (await store.webhooks.isWritten(leakedKey.organizationId, onceEventId("key.leaked", leakedKey.organizationId, once))) return null;
        const done = "deleted" in leak ? { data: deletedKeyEventData(leak.deleted) } : await this.#apply(organization, leak.key, response, at);
        if (done === null) return null;
        const data = { ...done.data, url: report.url, source: report.source, action: response, ...secret };
        if ((await store.webhooks.enqueue(onceWebhookEvent("key.leaked", leakedKey.organizationId, once, data, at))) === null) return null;
        await audit.record({
          ...KEYGATE_ACTOR,
          organizationId: leakedKey.organizationId,
          action: "key.leaked",
          keyId: leakedKey.id,
          details: { url: report.url, source: report.source, type: report.type, action: response, ...secret },
        });
        return done;
      });
    } catch (error) {
      // Changed since it was read (an admin acted on it meanwhile): GitHub's retry, or the next
      // report, decides on it as it is then.
      if (error instanceof KeyChangedError) return;
      throw error;
    }
    if (outcome === null) return;
    this.#deps.observer.acted(response);
    if (outcome.changed) keyEvents.changed(outcome.changed.key, outcome.changed.previously);
  }

  /** The response applied to a stored key, or null when there was nothing to apply it to any more. */
  async #apply(organization: Organization, key: KeyRecord, response: LeakResponse, at: Date): Promise<Outcome | null> {
    const { store, plans } = this.#deps;
    const changed = (after: KeyRecord | null): Outcome | null => after && { data: keyEventData(after), changed: { key: after, previously: key } };
    switch (response) {
      case "none":
      case "notify":
        return { data: keyEventData(key) };
      case "revoke":
        return changed(await store.keys.revoke(key.organizationId, key.id, at, asSeen(key)));
      case "end_grace_period":
        return changed(await store.keys.endGracePeriod(key.organizationId, key.id, key.previousSecret!.hash, at));
      case "disable": {
        if (!key.isActive) return { data: keyEventData(key) };
        const plan = organizationPlan(plans, organization.plan);
        // Disabling moves no slot (only a new owner takes one), so the plan's bounds are never reached.
        const slots = { organizationMax: plan.maxKeysPerOrganization, userMax: plan.maxKeysPerUser };
        const outcome = await store.keys.update(key.organizationId, key.id, { isActive: false, updatedAt: at }, slots, asSeen(key));
        return outcome.ok ? changed(outcome.key) : null;
      }
    }
  }
}

/**
 * A deleted key as `key.leaked` shows it: what is kept of it (its public fields that say which key
 * it was, and when it was deleted), so the customer learns that a secret they once had is out,
 * and where: a sign that others from the same place may be too.
 */
function deletedKeyEventData(deleted: DeletedKey): Record<string, unknown> {
  return {
    key: {
      id: deleted.id,
      organization_id: deleted.organizationId,
      name: deleted.name,
      key_prefix: deleted.keyPrefix,
      environment: deleted.environment,
      deleted_at: deleted.deletedAt.toISOString(),
    },
  };
}
