import type { KeyRecord } from "../model/records.js";
import type { LeakedKeyAction } from "../model/webhooks.js";

/**
 * What keygate did about one leaked secret, as the `key.leaked` event, the audit entry and the
 * metric name it: the organization's `leaked_key_action` for a live key's current secret;
 * `end_grace_period` for the previous secret of a rotation still in its grace period (that secret
 * stops working, the current one, which did not leak, goes on); `none` for a secret that already
 * opens nothing (a revoked or deleted key's, a previous secret past its grace).
 */
export const LEAK_RESPONSES = ["notify", "disable", "revoke", "end_grace_period", "none"] as const;
export type LeakResponse = (typeof LEAK_RESPONSES)[number];

/**
 * The response to a leak of a stored key's secret. A previous secret under `notify` is only told
 * of, like a current one: `notify` is the organization saying that keygate acts on nothing itself.
 */
export function responseTo(key: KeyRecord, secret: "current" | "previous", action: LeakedKeyAction, at: Date): LeakResponse {
  if (key.revokedAt !== null) return "none";
  if (secret === "current") return action;
  if (key.previousSecret === null || key.previousSecret.expiresAt <= at) return "none";
  return action === "notify" ? "notify" : "end_grace_period";
}
