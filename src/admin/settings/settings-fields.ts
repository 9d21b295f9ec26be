import type { LeakedKeyAction as LeakedKeyActionMessage, UpdateOrganizationSettingsRequest } from "../../../gen/keygate/v1/key_admin_pb.js";
import { LEAKED_KEY_ACTIONS, type LeakedKeyAction, type OrganizationSettings } from "../../model/webhooks.js";
import { LEAKED_KEY_ACTION_MESSAGES } from "../webhook-mapping.js";
import { parseCostHeader } from "../../model/response-cost.js";
import { fieldError } from "../errors.js";

/**
 * Field rules of UpdateOrganizationSettings: each value present is checked against its bounds,
 * and the first one out of them is an INVALID_ARGUMENT naming it, before anything is written.
 */

const MAX_QUOTA_THRESHOLDS = 10;

/** A whole number within [min, max], or an error naming the field. */
function within(value: number, field: string, min: number, max: number, meaning = ""): number {
  if (!Number.isInteger(value) || value < min || value > max) throw fieldError(field, `must be between ${min} and ${max}${meaning}`);
  return value;
}

/**
 * At most 10 percentages, each 1..100, strictly ascending (each threshold is its own event once a
 * month, so a repeat would say nothing new). Empty: no quota.threshold events.
 */
function validQuotaThresholds(thresholds: readonly number[]): number[] {
  if (thresholds.length > MAX_QUOTA_THRESHOLDS) throw fieldError("quota_thresholds", `must hold at most ${MAX_QUOTA_THRESHOLDS} percentages`);
  thresholds.forEach((threshold, i) => {
    within(threshold, `quota_thresholds[${i}]`, 1, 100);
    if (i > 0 && threshold <= thresholds[i - 1]!) throw fieldError(`quota_thresholds[${i}]`, "must be above the one before it (ascending, no repeats)");
  });
  return [...thresholds];
}

/** NOTIFY, DISABLE or REVOKE; UNSPECIFIED (or a number the proto does not name) says nothing to set. */
function validLeakedKeyAction(value: LeakedKeyActionMessage): LeakedKeyAction {
  const action = LEAKED_KEY_ACTIONS.find((candidate) => LEAKED_KEY_ACTION_MESSAGES[candidate] === value);
  if (action === undefined) throw fieldError("leaked_key_action", "must be LEAKED_KEY_ACTION_NOTIFY, LEAKED_KEY_ACTION_DISABLE or LEAKED_KEY_ACTION_REVOKE");
  return action;
}

/** A response header name, lower-cased; empty: none. */
function validResponseCostHeader(value: string): string {
  if (value === "") return "";
  const header = parseCostHeader(value);
  if (typeof header !== "string") throw fieldError("response_cost_header", `${header.error}, or empty for none`);
  return header;
}

/** The settings the request sets; absent ones stay as they are. */
export function settingsPatch(req: UpdateOrganizationSettingsRequest): Partial<OrganizationSettings> {
  const patch: Partial<OrganizationSettings> = {};
  if (req.expiryWarningDays !== undefined) patch.expiryWarningDays = within(req.expiryWarningDays, "expiry_warning_days", 1, 365);
  if (req.maxKeyLifetimeDays !== undefined) patch.maxKeyLifetimeDays = within(req.maxKeyLifetimeDays, "max_key_lifetime_days", 0, 3650, " (0: no maximum)");
  if (req.disableUnusedKeysAfterDays !== undefined) {
    patch.disableUnusedKeysAfterDays = within(req.disableUnusedKeysAfterDays, "disable_unused_keys_after_days", 0, 3650, " (0: never)");
  }
  if (req.leakedKeyAction !== undefined) patch.leakedKeyAction = validLeakedKeyAction(req.leakedKeyAction);
  if (req.responseCostHeader !== undefined) patch.responseCostHeader = validResponseCostHeader(req.responseCostHeader);
  if (req.creditsLowThresholdPercent !== undefined) {
    patch.creditsLowThresholdPercent = within(req.creditsLowThresholdPercent, "credits_low_threshold_percent", 0, 100, " (0: no key.credits_low)");
  }
  if (req.setQuotaThresholds) patch.quotaThresholds = validQuotaThresholds(req.quotaThresholds);
  else if (req.quotaThresholds.length > 0) throw fieldError("set_quota_thresholds", "must be true to change quota_thresholds");
  return patch;
}
