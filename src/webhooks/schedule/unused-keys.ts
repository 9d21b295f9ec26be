import type { AuditTrail } from "../../audit/audit-trail.js";
import type { KeyEvents } from "../../keys/key-events.js";
import { settingsOf } from "../../model/organization-settings.js";
import { organizationPlan, type PlanCatalog } from "../../model/plans.js";
import type { KeyRecord, Organization } from "../../model/records.js";
import { ADMIN_SCOPES, PLATFORM_ADMIN } from "../../model/scopes.js";
import { asSeen, KeyChangedError } from "../../store/key-as-seen.js";
import type { Store } from "../../store/store.js";
import { keyEventData, webhookEvent } from "../webhook-event.js";

const DAY_MS = 86_400_000;

/** Who the audit trail names for keygate's own changes. */
const KEYGATE_ACTOR = { actorKeyId: "keygate", actorUserId: "" } as const;

/**
 * The organizations to sweep: those whose `disable_unused_keys_after_days` is above 0, in id
 * order after a cursor. The store's OrganizationRepository is meant to answer it
 * (`listDisablingUnusedKeys`); this names only what the sweep needs.
 */
export interface OrganizationsDisablingUnusedKeys {
  listDisablingUnusedKeys(query: { afterId?: string; limit: number }): Promise<Organization[]>;
}

export interface UnusedKeysDeps {
  store: Pick<Store, "keys" | "usage" | "webhooks" | "atomically">;
  organizations: OrganizationsDisablingUnusedKeys;
  plans: PlanCatalog;
  audit: AuditTrail;
  keyEvents: KeyEvents;
  pageSize: number;
}

/**
 * Disables the keys an organization has not used for its `disable_unused_keys_after_days`: usable
 * keys created before the cutoff whose last allowed request (the usage's lifetime totals) is
 * before it, or that were never used. Each is disabled as UpdateKey would (isActive false), on
 * condition that the key is still as it was read, with its `key.updated` event and its audit
 * entry in the same unit of work; then announced (KeyEvents) so every cache drops it. Replicas
 * sweeping at once race on that condition: one disables the key, the others find it changed and
 * leave it, so there is one event.
 *
 * Keys that administer (admin:read, admin:write, platform:admin) are never disabled: usage counts
 * only Checks, so a key used on the admin API alone (the console's, the CLI's, automation's)
 * would look unused, and disabling it could leave the organization with no key to turn it back on.
 */
export class UnusedKeys {
  readonly #deps: UnusedKeysDeps;

  constructor(deps: UnusedKeysDeps) {
    this.#deps = deps;
  }

  /** The number of keys disabled. */
  async run(nowMs: number): Promise<number> {
    const { organizations, pageSize } = this.#deps;
    let disabled = 0;
    let afterId: string | undefined;
    for (;;) {
      const page = await organizations.listDisablingUnusedKeys({ limit: pageSize, ...(afterId !== undefined && { afterId }) });
      for (const organization of page) disabled += await this.#sweep(organization, nowMs);
      if (page.length < pageSize) return disabled;
      afterId = page[page.length - 1]!.id;
    }
  }

  async #sweep(organization: Organization, nowMs: number): Promise<number> {
    const days = settingsOf(organization).disableUnusedKeysAfterDays;
    if (days <= 0) return 0;
    const { store, pageSize } = this.#deps;
    const cutoffMs = nowMs - days * DAY_MS;
    let disabled = 0;
    let afterId: string | undefined;
    for (;;) {
      const page = await store.keys.listUsableCreatedBefore(organization.id, new Date(cutoffMs), {
        limit: pageSize,
        ...(afterId !== undefined && { afterId }),
      });
      const totals = page.length === 0 ? new Map() : await store.usage.keyTotals(organization.id, page.map((key) => key.id));
      for (const key of page) {
        if (administers(key)) continue;
        const lastUsedAtMs = totals.get(key.id)?.lastUsedAtMs ?? null;
        if (lastUsedAtMs !== null && lastUsedAtMs >= cutoffMs) continue;
        if (await this.#disable(organization, key, days, lastUsedAtMs, nowMs)) disabled++;
      }
      if (page.length < pageSize) return disabled;
      afterId = page[page.length - 1]!.id;
    }
  }

  async #disable(organization: Organization, key: KeyRecord, days: number, lastUsedAtMs: number | null, nowMs: number): Promise<boolean> {
    const { store, audit, keyEvents } = this.#deps;
    const plan = organizationPlan(this.#deps.plans, organization.plan);
    // Disabling moves no slot (only a new owner takes one), so the plan's bounds are never reached.
    const slots = { organizationMax: plan.maxKeysPerOrganization, userMax: plan.maxKeysPerUser };
    const at = new Date(nowMs);
    let changed: KeyRecord | null;
    try {
      changed = await store.atomically(async () => {
        const outcome = await store.keys.update(organization.id, key.id, { isActive: false, updatedAt: at }, slots, asSeen(key));
        if (!outcome.ok) return null;
        await store.webhooks.enqueue(webhookEvent("key.updated", organization.id, { ...keyEventData(outcome.key), reason: "unused" }, at));
        await audit.record({
          ...KEYGATE_ACTOR,
          organizationId: organization.id,
          action: "key.update",
          keyId: key.id,
          details: {
            fields: "isActive",
            reason: `unused for ${days} days`,
            lastUsedAt: lastUsedAtMs === null ? "never" : new Date(lastUsedAtMs).toISOString(),
          },
        });
        return outcome.key;
      });
    } catch (error) {
      // Changed since it was read (another replica disabled it, or an admin updated it): the
      // next sweep decides on it as it is then.
      if (error instanceof KeyChangedError) return false;
      throw error;
    }
    if (changed === null) return false;
    keyEvents.changed(changed);
    return true;
  }
}

const ADMINISTERING = new Set([...ADMIN_SCOPES, PLATFORM_ADMIN]);

/** Whether the key may call the admin API, whose use the usage totals do not see. */
const administers = (key: KeyRecord): boolean => key.scopes.some((scope) => ADMINISTERING.has(scope));
