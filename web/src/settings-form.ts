import type { MessageInitShape } from "@bufbuild/protobuf";
import { LeakedKeyAction, type OrganizationSettings, type UpdateOrganizationSettingsRequestSchema } from "../../gen/keygate/v1/key_admin_pb.js";
import { field, h, select } from "./dom.js";

/**
 * The organization's settings as a form (all but response_cost_header, set with the CLI): what each means and its default, the values as
 * the server last answered them, and the request that changes only those edited. A key
 * lifecycle setting sent unchanged would change nothing anyway, but sending only edits keeps an
 * admin's save of a notification setting from ever naming an owner-only one.
 */

export type SettingsChanges = MessageInitShape<typeof UpdateOrganizationSettingsRequestSchema>;

/** The settings by API name, as the server names them in its errors. */
type SettingName =
  | "expiry_warning_days"
  | "max_key_lifetime_days"
  | "disable_unused_keys_after_days"
  | "quota_thresholds"
  | "leaked_key_action"
  | "credits_low_threshold_percent";

interface Setting {
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLElement;
}

export interface SettingsForm {
  element: HTMLFormElement;
  /** The edited settings as a request, or the first value that is not one, named and explained. */
  changes(): { request: SettingsChanges } | { invalid: SettingName; message: string };
  /** Shows `message` at the setting the server named; false when it names none of the form's. */
  showFieldError(name: string, message: string): boolean;
  clearFieldErrors(): void;
  /** The values the server now holds, as the form's starting point. */
  reset(settings: OrganizationSettings): void;
}

const thresholdsText = (thresholds: readonly number[]) => thresholds.join(", ");
const sameList = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((value, i) => value === b[i]);

/** A whole number of days, or a percentage. */
function wholeNumberInput(name: SettingName, min: number, max: number): HTMLInputElement {
  return h("input", { type: "number", name, min, max, step: 1, inputmode: "numeric", required: true, class: "days" });
}

/** A labelled setting with its meaning, and a place for what is wrong with its value. */
function settingField(label: string, input: Setting["input"], hint: string): { element: HTMLElement; setting: Setting } {
  const element = field(label, input, hint);
  const error = h("small", { id: `${input.id}-error`, class: "error-text field-error", hidden: true });
  element.appendChild(error);
  return { element, setting: { input, error } };
}

/** What a key reported leaked by a secret scanner gets, in the order of how hard it bites. */
const LEAKED_KEY_ACTIONS = [
  [String(LeakedKeyAction.NOTIFY), "Notify only: key.leaked and an audit entry"],
  [String(LeakedKeyAction.DISABLE), "Disable the key (it can be enabled again)"],
  [String(LeakedKeyAction.REVOKE), "Revoke the key for good"],
] as const;

export function settingsForm(initial: OrganizationSettings, submit: HTMLButtonElement, lifecycleNote: HTMLElement): SettingsForm {
  let current = initial;
  const expiry = settingField(
    "Expiry warning (days)",
    wholeNumberInput("expiry_warning_days", 1, 365),
    "keygate sends key.expiring this many days before a key expires. 1 to 365; default 7.",
  );
  const quota = settingField(
    "Quota alert thresholds (%)",
    h("input", { type: "text", name: "quota_thresholds", autocomplete: "off", spellcheck: "false", placeholder: "80, 100" }),
    "keygate sends quota.threshold as the month's use of the quota crosses each percentage: 1 to 100, ascending, separated by commas. Empty: no alerts. Default 80, 100.",
  );
  const creditsLow = settingField(
    "Credits low alert (%)",
    wholeNumberInput("credits_low_threshold_percent", 0, 100),
    "keygate sends key.credits_low once per balance and refill when a key's (or its identity's) credits left fall to this percentage of what the balance or refill allows. 0 to 100; 0: no alerts. Default 10.",
  );
  const lifetime = settingField(
    "Maximum key lifetime (days)",
    wholeNumberInput("max_key_lifetime_days", 0, 3650),
    "A key's secret expires at most this many days after it is issued; new keys without an expiry get this one. 0 to 3650; 0: no maximum (the default).",
  );
  const unused = settingField(
    "Disable keys unused for (days)",
    wholeNumberInput("disable_unused_keys_after_days", 0, 3650),
    "Keys not used for this many days are disabled, with a key.updated event and an audit entry. 0 to 3650; 0: never (the default).",
  );
  const leaked = settingField(
    "When a key is reported leaked",
    select(LEAKED_KEY_ACTIONS, String(initial.leakedKeyAction), { name: "leaked_key_action" }),
    "A secret scanner (GitHub's secret scanning) found a key's secret in public. keygate always sends key.leaked and writes an audit entry with where it was found; this says what happens to the key. Default: disable.",
  );
  const settings: Record<SettingName, Setting> = {
    expiry_warning_days: expiry.setting,
    quota_thresholds: quota.setting,
    max_key_lifetime_days: lifetime.setting,
    disable_unused_keys_after_days: unused.setting,
    leaked_key_action: leaked.setting,
    credits_low_threshold_percent: creditsLow.setting,
  };

  const element = h(
    "form",
    { class: "card settings-form", novalidate: true, "aria-label": "Organization settings" },
    h(
      "fieldset",
      null,
      h("legend", null, "Notifications"),
      h("p", { class: "hint" }, "When keygate tells your webhook endpoints something. Owners and admins change these."),
      expiry.element,
      quota.element,
      creditsLow.element,
    ),
    h(
      "fieldset",
      null,
      h("legend", null, "Key lifecycle"),
      h("p", { class: "hint" }, "These act on every key, owners' included, so only owners change them. ", lifecycleNote),
      lifetime.element,
      unused.element,
      leaked.element,
    ),
    h("div", { class: "actions" }, submit),
  );

  const reset = (next: OrganizationSettings) => {
    current = next;
    expiry.setting.input.value = String(next.expiryWarningDays);
    lifetime.setting.input.value = String(next.maxKeyLifetimeDays);
    unused.setting.input.value = String(next.disableUnusedKeysAfterDays);
    quota.setting.input.value = thresholdsText(next.quotaThresholds);
    leaked.setting.input.value = String(next.leakedKeyAction);
    creditsLow.setting.input.value = String(next.creditsLowThresholdPercent);
  };
  reset(initial);

  const showFieldError = (name: string, message: string): boolean => {
    const setting = settings[name as SettingName];
    if (setting === undefined) return false;
    setting.error.textContent = message;
    setting.error.hidden = false;
    setting.input.setAttribute("aria-invalid", "true");
    const described = setting.input.getAttribute("aria-describedby") ?? "";
    if (!described.includes(setting.error.id)) setting.input.setAttribute("aria-describedby", `${described} ${setting.error.id}`.trim());
    setting.input.focus();
    return true;
  };

  const clearFieldErrors = () => {
    for (const setting of Object.values(settings)) {
      setting.error.hidden = true;
      setting.error.textContent = "";
      setting.input.removeAttribute("aria-invalid");
    }
  };

  const changes: SettingsForm["changes"] = () => {
    const request: SettingsChanges = {};
    const DAYS = "Enter a whole number of days.";
    const numbers: [SettingName, number, (value: number) => void, string][] = [
      ["expiry_warning_days", current.expiryWarningDays, (value) => (request.expiryWarningDays = value), DAYS],
      ["credits_low_threshold_percent", current.creditsLowThresholdPercent, (value) => (request.creditsLowThresholdPercent = value), "Enter a whole percentage (0 for no alerts)."],
      ["max_key_lifetime_days", current.maxKeyLifetimeDays, (value) => (request.maxKeyLifetimeDays = value), DAYS],
      ["disable_unused_keys_after_days", current.disableUnusedKeysAfterDays, (value) => (request.disableUnusedKeysAfterDays = value), DAYS],
    ];
    for (const [name, was, set, message] of numbers) {
      const text = settings[name].input.value.trim();
      // A number input reports "" for what is not a number, so "" is either empty or garbage.
      if (!/^\d{1,9}$/.test(text)) return { invalid: name, message };
      if (Number(text) !== was) set(Number(text));
    }
    const parts = quota.setting.input.value.split(/[\s,]+/).filter((part) => part !== "");
    if (!parts.every((part) => /^\d{1,9}$/.test(part))) {
      return { invalid: "quota_thresholds", message: "Enter whole percentages separated by commas, like 80, 100 (or leave it empty for no alerts)." };
    }
    const thresholds = parts.map(Number);
    if (!sameList(thresholds, current.quotaThresholds)) Object.assign(request, { quotaThresholds: thresholds, setQuotaThresholds: true });
    const action = Number(leaked.setting.input.value) as LeakedKeyAction;
    if (action !== current.leakedKeyAction) request.leakedKeyAction = action;
    return { request };
  };

  return { element, changes, showFieldError, clearFieldErrors, reset };
}
