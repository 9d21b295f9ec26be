import { describe, it } from "vitest";
import { mayChangeSettings, mayManageIdentities, mayManageWebhooks, type Actor, type Decision, type RefusalRule } from "../../../src/admin/policy.js";
import type { UserRole } from "../../../src/model/records.js";
import { DEFAULT_ORGANIZATION_SETTINGS, type OrganizationSettings } from "../../../src/model/webhooks.js";
import { actor, expectDecision, ROLES, WRITER } from "./oracle.js";

/**
 * The organization's webhooks, identities and settings: every role × change. The oracle, from the
 * contract's "Who may do what": members manage nothing of the organization; owners and admins
 * manage its webhooks, identities and notification settings; the key lifecycle settings reach owners' keys, which an
 * admin may not act on, so only an owner changes them.
 */

const BEFORE: OrganizationSettings = { ...DEFAULT_ORGANIZATION_SETTINGS, quotaThresholds: [80, 100] };

interface OrganizationCall {
  name: string;
  run: (me: Actor) => Decision;
  broken: (role: UserRole) => RefusalRule[];
}

const settingsChange = (name: string, after: Partial<OrganizationSettings>, lifecycle: boolean): OrganizationCall => ({
  name,
  run: (me) => mayChangeSettings(me, BEFORE, { ...BEFORE, ...after }),
  broken: (role) => (role === "member" ? ["SETTINGS_NOT_MANAGED"] : lifecycle && role !== "owner" ? ["KEY_LIFECYCLE_OWNERS_ONLY"] : []),
});

const CALLS: OrganizationCall[] = [
  { name: "manage webhooks", run: (me) => mayManageWebhooks(me), broken: (role) => (role === "member" ? ["WEBHOOKS_NOT_MANAGED"] : []) },
  { name: "manage identities", run: (me) => mayManageIdentities(me), broken: (role) => (role === "member" ? ["IDENTITIES_NOT_MANAGED"] : []) },
  settingsChange("change expiry_warning_days", { expiryWarningDays: 14 }, false),
  settingsChange("change quota_thresholds", { quotaThresholds: [50, 90] }, false),
  settingsChange("change credits_low_threshold_percent", { creditsLowThresholdPercent: 25 }, false),
  settingsChange("change max_key_lifetime_days", { maxKeyLifetimeDays: 90 }, true),
  settingsChange("change leaked_key_action", { leakedKeyAction: "revoke" }, true),
  settingsChange("change response_cost_header", { responseCostHeader: "x-usage-tokens" }, true),
  settingsChange("change disable_unused_keys_after_days", { disableUnusedKeysAfterDays: 30 }, true),
  settingsChange("send the lifecycle settings unchanged", { maxKeyLifetimeDays: 0, disableUnusedKeysAfterDays: 0 }, false),
  settingsChange("change nothing", {}, false),
];

describe("policy: the organization's webhooks and settings (role × change)", () => {
  const rows = ROLES.flatMap((role) => CALLS.map((call) => ({ role, call })));

  it.each(rows.map((r) => [r.role, r.call.name, r] as const))("%s: %s", (_role, _call, { role, call }) => {
    const me = actor({ name: role, role, keyScopes: WRITER, operator: false });
    const decision = call.run(me);
    // Refusals for a member are of the whole call; an admin's names the lifecycle setting it would change.
    const lifecycleField = ["max_key_lifetime_days", "leaked_key_action", "response_cost_header"].find((field) => call.name.includes(field)) ?? "disable_unused_keys_after_days";
    expectDecision(decision, call.broken(role), (rule) => (rule === "KEY_LIFECYCLE_OWNERS_ONLY" ? lifecycleField : undefined));
  });
});
