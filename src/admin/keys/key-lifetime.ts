/**
 * The organization's maximum key lifetime (its `max_key_lifetime_days` setting; 0: none): a secret
 * lives at most that many days from when it was issued. CreateKey without an expiry gets the
 * latest one; RegenerateKey, which issues a new secret, gives the key the new secret's latest
 * (the rotation a `key.expiring` warning asks for must buy the new secret its full life); UpdateKey may bring an expiry nearer but never push it
 * later, nor clear it, since that would let a key outlive the rotation the maximum asks for.
 * Refusals come before anything is written. Keys made before the setting keep their expiry (or
 * none) until one of these calls changes it.
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

/**
 * UpdateKey's expiry change (a date; null: clear it; undefined: not asked) of a key expiring at
 * `current`: refused beyond the maximum from now, and beyond the key's current expiry.
 */
export function checkExpiryOnUpdate(organization: WithSettings, asked: Date | null | undefined, current: Date | null, nowMs: number): void {
  const maxDays = settingsOf(organization).maxKeyLifetimeDays;
  if (asked === undefined || maxDays <= 0) return;
  if (asked === null) {
    throw lifetimeError(`cannot be cleared (clear_expires_at): this organization's keys expire within ${maxDays} days`, maxDays);
  }
  const latest = new Date(Math.min(nowMs + maxDays * DAY_MS, current?.getTime() ?? Infinity));
  if (asked > latest) throw beyondLifetime(maxDays, latest);
}

/** RegenerateKey's expiry for the new secret: under a maximum, the latest it may have; undefined: the key's stays. */
export function expiryOnRegenerate(organization: WithSettings, nowMs: number): Date | undefined {
  const maxDays = settingsOf(organization).maxKeyLifetimeDays;
  return maxDays > 0 ? new Date(nowMs + maxDays * DAY_MS) : undefined;
}

const beyondLifetime = (maxDays: number, latest: Date): Error =>
  lifetimeError(
    `must be no later than ${latest.toISOString()}: this organization's secrets live at most ${maxDays} days, and only RegenerateKey (a new secret) extends a key's life`,
    maxDays,
  );

/** API_KEY_FIELD_INVALID, the contract's reason for a field that cannot be accepted, naming expires_at and the limit. */
const lifetimeError = (problem: string, maxDays: number): Error =>
  adminError("API_KEY_FIELD_INVALID", `expires_at: ${problem} (max_key_lifetime_days)`, { field: "expires_at", maxKeyLifetimeDays: String(maxDays) });
