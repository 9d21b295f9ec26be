import { settingsOf } from "../../model/organization-settings.js";
import type { KeyRepository } from "../../store/store.js";
import { keyEventData } from "../webhook-event.js";
import { keysExpiringBetween } from "./expiring-keys.js";
import type { OnceEvents } from "./once-events.js";
import type { OrganizationsOfPass } from "./organizations-of-pass.js";

const DAY_MS = 86_400_000;

/** The longest `expiry_warning_days` an organization may set (the contract's 1..365). */
const MAX_WARNING_DAYS = 365;

/**
 * `key.expiring`: once per key and expiry, as soon as the key's expiry is within its
 * organization's `expiry_warning_days`. The event's id is derived from the key's id and its
 * `expires_at`, so every pass and every replica that finds the key makes the same event, and a key
 * whose expiry is moved is warned again about the new one.
 *
 * Warning days differ by organization, so each pass walks every key expiring within the longest
 * setting (a year) and keeps those within their own organization's: a pass costs one read per
 * page of such keys (listExpiringBetween, by `expiresAt`), and writes only for keys this process
 * has not queued yet (OnceEvents). A key already expired is not warned: `key.expired` says more.
 */
export class ExpiryWarnings {
  readonly #keys: Pick<KeyRepository, "listExpiringBetween">;
  readonly #once: OnceEvents;
  readonly #pageSize: number;

  constructor(deps: { keys: Pick<KeyRepository, "listExpiringBetween">; once: OnceEvents; pageSize: number }) {
    this.#keys = deps.keys;
    this.#once = deps.once;
    this.#pageSize = deps.pageSize;
  }

  async run(nowMs: number, organizations: OrganizationsOfPass): Promise<void> {
    const horizon = new Date(nowMs + MAX_WARNING_DAYS * DAY_MS);
    for await (const key of keysExpiringBetween(this.#keys, new Date(nowMs), horizon, this.#pageSize)) {
      const organization = await organizations.get(key.organizationId);
      if (organization === null) continue;
      const warningDays = settingsOf(organization).expiryWarningDays;
      if (key.expiresAt.getTime() - nowMs > warningDays * DAY_MS) continue;
      const once = `${key.id}/${key.expiresAt.toISOString()}`;
      // Found again on every pass until the key expires, up to a year away: remembered until then.
      const rememberUntil = new Date(key.expiresAt.getTime() + DAY_MS);
      await this.#once.enqueue({ type: "key.expiring", organizationId: key.organizationId, once, rememberUntil }, nowMs, () => ({
        ...keyEventData(key),
        expiry_warning_days: warningDays,
      }));
    }
  }
}
