import type { OrganizationSettings } from "../../model/webhooks.js";
import type { Actor } from "./actor.js";
import { ALLOWED, firstRefusal, refuse, type Decision } from "./decision.js";

/**
 * What belongs to the whole organization rather than to a user or a key: its webhook endpoints,
 * its identities and its settings. Reading them needs only the RPC's scope (admin:read, rpc-scopes.ts), like
 * ListUsers. Changing them is managing the organization, which the contract gives owners and
 * admins, as it does users: a member manages only its own keys.
 *
 * The key lifecycle settings reach every key, owners' included (a maximum lifetime bounds the keys
 * an owner creates; disabling unused keys disables an owner's), and an admin acts on no owner's
 * key, so only an owner changes them. The notification settings (expiry_warning_days,
 * quota_thresholds, credits_low_threshold_percent) only say when keygate tells the organization
 * something, so admins change those too.
 */

/** The settings that act on keys, by API name: only an owner changes them. */
const KEY_LIFECYCLE_SETTINGS: readonly { field: string; of: (settings: OrganizationSettings) => number | string }[] = [
  { field: "max_key_lifetime_days", of: (settings) => settings.maxKeyLifetimeDays },
  { field: "disable_unused_keys_after_days", of: (settings) => settings.disableUnusedKeysAfterDays },
  // A leak report disables or revokes any key, an owner's too.
  { field: "leaked_key_action", of: (settings) => settings.leakedKeyAction },
  // What the upstream reports is debited from every key's credits, owners' keys' too.
  { field: "response_cost_header", of: (settings) => settings.responseCostHeader },
];

/** Creating, changing, deleting, testing and redelivering webhook endpoints, and rotating their secrets. */
export function mayManageWebhooks(actor: Actor): Decision {
  if (actor.role === "member") return refuse("WEBHOOKS_NOT_MANAGED", "only owners and admins manage the organization's webhooks; your user is a member");
  return ALLOWED;
}

/**
 * Creating, changing and deleting identities: they are the organization's customers, whose limits
 * and credits every key tied to them shares, so changing one reaches keys of every user. Members
 * read them (GetIdentity, ListIdentities, GetIdentityUsage: admin:read alone), and tie their own
 * keys to them, which is acting on the key (key-rules.ts) and never loosens anything: an
 * identity's limits apply on top of the key's own.
 */
export function mayManageIdentities(actor: Actor): Decision {
  if (actor.role === "member") return refuse("IDENTITIES_NOT_MANAGED", "only owners and admins manage the organization's identities; your user is a member");
  return ALLOWED;
}

/**
 * A change of the organization's settings, from `before` to `after` (both with defaults filled
 * in): a key lifecycle setting sent with its current value changes nothing, so a client that
 * sends every field (a console's form) is refused only for what it would change.
 */
export function mayChangeSettings(actor: Actor, before: OrganizationSettings, after: OrganizationSettings): Decision {
  return firstRefusal(
    () => (actor.role === "member" ? refuse("SETTINGS_NOT_MANAGED", "only owners and admins change the organization's settings; your user is a member") : ALLOWED),
    () => {
      if (actor.role === "owner") return ALLOWED;
      const changed = KEY_LIFECYCLE_SETTINGS.find((setting) => setting.of(after) !== setting.of(before));
      if (changed === undefined) return ALLOWED;
      return refuse("KEY_LIFECYCLE_OWNERS_ONLY", `reaches every key, owners' included, so only an owner changes it; your user is an ${actor.role}`, {
        field: changed.field,
      });
    },
  );
}
