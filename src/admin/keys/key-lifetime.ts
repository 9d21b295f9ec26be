/**
 * The organization's maximum key lifetime (its `max_key_lifetime_days` setting; 0: none): a key
 * expires at the latest that many days after it was created or last given an expiry. CreateKey
 * without an expiry gets the latest one; an expiry asked beyond it, or asked away (UpdateKey's
 * clear_expires_at), is refused before anything is written. Keys made before the setting keep
 * their expiry (or none) until an UpdateKey changes it.
 */
import { settingsOf } from "../../model/organization-settings.js";
import type { Organization } from "../../model/records.js";
import { adminError } from "../errors.js";

const DAY_MS = 24 * 60 * 60 * 1000;

type WithSettings = Pick<Organization, "settings">;

/** CreateKey's expiry: the one asked for, within the maximum; the maximum itself when none was asked. */
export function expiryOnCreate(organization: WithSettings, asked: Date | null, nowMs: number): Date | null {
  const maxDays = settingsOf(organization).maxKeyLifetimeDays;
  if (maxDays <= 0) return asked;
  const latest = new Date(nowMs + maxDays * DAY_MS);
  if (asked === null) return latest;
  if (asked > latest) throw beyondLifetime(maxDays, latest);
  return asked;
}

/** UpdateKey's expiry change (a date; null: clear it; undefined: not asked), refused beyond the maximum. */
export function checkExpiryOnUpdate(organization: WithSettings, asked: Date | null | undefined, nowMs: number): void {
  const maxDays = settingsOf(organization).maxKeyLifetimeDays;
  if (asked === undefined || maxDays <= 0) return;
  const latest = new Date(nowMs + maxDays * DAY_MS);
  if (asked === null) {
    throw lifetimeError(`cannot be cleared (clear_expires_at): this organization's keys expire within ${maxDays} days`, maxDays);
  }
  if (asked > latest) throw beyondLifetime(maxDays, latest);
}

const beyondLifetime = (maxDays: number, latest: Date): Error =>
  lifetimeError(`must be no later than ${latest.toISOString()}: this organization's keys expire within ${maxDays} days of being given an expiry`, maxDays);

/** API_KEY_FIELD_INVALID, the contract's reason for a field that cannot be accepted, naming expires_at and the limit. */
const lifetimeError = (problem: string, maxDays: number): Error =>
  adminError("API_KEY_FIELD_INVALID", `expires_at: ${problem} (max_key_lifetime_days)`, { field: "expires_at", maxKeyLifetimeDays: String(maxDays) });
