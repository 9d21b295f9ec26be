import { settingsOf } from "../../model/organization-settings.js";
import { DEFAULT_ORGANIZATION_SETTINGS } from "../../model/webhooks.js";
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
 * Warning days differ by organization, so finding every key within its own organization's days
 * means walking every key expiring within the longest setting (a year): that full walk runs at most
 * every `fullWalkEveryMs` (the scheduler's hourly sweep), and on a process's first pass. A pass
 * between full walks reads only:
 *  - the keys that entered their window since the last pass that went through: for each warning
 *    days W in use (the organizations of the keys the last full walk found, and the default), the
 *    expiries in (last pass + W, now + W], reaching back `overlapMs` further for a key written a
 *    moment before a pass by a replica whose clock is behind;
 *  - the keys expiring before the next full walk, in (now, now + fullWalkEveryMs]. A key whose
 *    expiry was set inside its window (created so, moved nearer, or its organization's days
 *    raised) entered no band: when it expires before the next full walk, this finds it; when
 *    later, that walk warns it, within `fullWalkEveryMs`. So every key is warned before it expires.
 * The walks read a page at a time (listExpiringBetween, on the expiry index) and write only for
 * keys this process has not queued yet (OnceEvents). A key already expired is not warned:
 * `key.expired` says more.
 */
export class ExpiryWarnings {
  readonly #keys: Pick<KeyRepository, "listExpiringBetween">;
  readonly #once: OnceEvents;
  readonly #pageSize: number;
  readonly #overlapMs: number;
  readonly #fullWalkEveryMs: number;
  /** Keys entering their window up to here were warned by an earlier pass of this process. */
  #doneUpToMs: number | undefined;
  #lastFullWalkMs: number | undefined;
  /** The warning windows (ms) of the organizations the last full walk found keys of, and the default's. */
  #windowsMs = new Set<number>();

  constructor(deps: { keys: Pick<KeyRepository, "listExpiringBetween">; once: OnceEvents; pageSize: number; overlapMs: number; fullWalkEveryMs: number }) {
    this.#keys = deps.keys;
    this.#once = deps.once;
    this.#pageSize = deps.pageSize;
    this.#overlapMs = deps.overlapMs;
    this.#fullWalkEveryMs = deps.fullWalkEveryMs;
  }

  /** Between full walks: the expiries of keys whose window began in (sinceMs, nowMs], and those expiring before the next full walk. */
  #spansSince(sinceMs: number, nowMs: number): (readonly [number, number])[] {
    const entering = [...this.#windowsMs].map((windowMs): [number, number] => [Math.max(nowMs, sinceMs + windowMs), nowMs + windowMs]);
    return joined([...entering, [nowMs, nowMs + this.#fullWalkEveryMs]]);
  }

  async run(nowMs: number, organizations: OrganizationsOfPass): Promise<void> {
    const full = this.#doneUpToMs === undefined || this.#lastFullWalkMs === undefined || nowMs - this.#lastFullWalkMs >= this.#fullWalkEveryMs;
    const spans = full ? [[nowMs, nowMs + MAX_WARNING_DAYS * DAY_MS] as const] : this.#spansSince(this.#doneUpToMs! - this.#overlapMs, nowMs);
    const windowsMs = new Set([DEFAULT_ORGANIZATION_SETTINGS.expiryWarningDays * DAY_MS]);
    for (const [fromMs, toMs] of spans) {
      for await (const key of keysExpiringBetween(this.#keys, new Date(fromMs), new Date(toMs), this.#pageSize)) {
        const organization = await organizations.get(key.organizationId);
        if (organization === null) continue;
        const warningDays = settingsOf(organization).expiryWarningDays;
        windowsMs.add(warningDays * DAY_MS);
        if (key.expiresAt.getTime() - nowMs > warningDays * DAY_MS) continue;
        const once = `${key.id}/${key.expiresAt.toISOString()}`;
        // Found again by every full walk until the key expires, up to a year away: remembered until then.
        const rememberUntil = new Date(key.expiresAt.getTime() + DAY_MS);
        await this.#once.enqueue({ type: "key.expiring", organizationId: key.organizationId, once, rememberUntil }, nowMs, () => ({
          ...keyEventData(key),
          expiry_warning_days: warningDays,
        }));
      }
    }
    // Only a pass that went through moves on: a failed one is looked at again from the same point.
    if (full) [this.#windowsMs, this.#lastFullWalkMs] = [windowsMs, nowMs];
    else for (const windowMs of windowsMs) this.#windowsMs.add(windowMs);
    this.#doneUpToMs = nowMs;
  }
}

/** The spans joined where they overlap, in order, so no key is read twice; empty ones left out. */
function joined(spans: [number, number][]): (readonly [number, number])[] {
  const out: [number, number][] = [];
  for (const [fromMs, toMs] of spans.sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1];
    if (last !== undefined && fromMs <= last[1]) last[1] = Math.max(last[1], toMs);
    else if (fromMs < toMs) out.push([fromMs, toMs]);
  }
  return out;
}
