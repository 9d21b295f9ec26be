import {
  GetOrganizationSettingsResponseSchema,
  LeakedKeyAction,
  UpdateOrganizationSettingsResponseSchema,
  type OrganizationSettings,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { UsageError, type CommandIo } from "./command.js";
import { printFields } from "./output.js";
import { commandGroup, type RunContext, type Subcommand } from "./remote.js";

/**
 * keygate settings …: the organization's key lifecycle, leaked-key and notification settings, on a running
 * server. The bounds of each value are the server's (it names the field it refuses, exit 2); the
 * CLI only refuses what is not a number at all, so that never reaches the server.
 */

/** The words the CLI takes and prints for leaked_key_action, as the contract names them. */
const LEAKED_KEY_ACTIONS: readonly (readonly [word: string, action: LeakedKeyAction, says: string])[] = [
  ["notify", LeakedKeyAction.NOTIFY, "notify (key.leaked and an audit entry only)"],
  ["disable", LeakedKeyAction.DISABLE, "disable (the key stops until enabled again)"],
  ["revoke", LeakedKeyAction.REVOKE, "revoke (the key stops for good)"],
];

function printSettings(io: CommandIo, settings: OrganizationSettings | undefined): void {
  const s = settings!;
  printFields(io, [
    ["expiry warning", `${s.expiryWarningDays} days before a key expires (key.expiring)`],
    ["max key lifetime", s.maxKeyLifetimeDays === 0 ? "no maximum" : `${s.maxKeyLifetimeDays} days`],
    ["disable unused keys", s.disableUnusedKeysAfterDays === 0 ? "never" : `after ${s.disableUnusedKeysAfterDays} days unused`],
    ["quota thresholds", s.quotaThresholds.length === 0 ? "none" : s.quotaThresholds.map((p) => `${p}%`).join(", ")],
    ["leaked key action", LEAKED_KEY_ACTIONS.find(([, action]) => action === s.leakedKeyAction)?.[2] ?? "unknown"],
    ["response cost header", s.responseCostHeader === "" ? "none" : s.responseCostHeader],
    ["credits low", s.creditsLowThresholdPercent === 0 ? "never" : `at ${s.creditsLowThresholdPercent}% of a balance left (key.credits_low)`],
  ]);
}

const SETTINGS_TEXT = `Settings (defaults in brackets):
  expiry warning       days before a key expires that key.expiring is sent, 1-365 [7]
  max key lifetime     days a key may live from when its secret is issued; 0: no maximum [0]
  disable unused keys  days unused after which a key is disabled; 0: never [0]
  quota thresholds     percentages of the monthly quota at which quota.threshold is sent,
                       1-100 ascending; none: no such events [80,100]
  leaked key action    what a key reported leaked by a secret scanner gets besides key.leaked
                       and an audit entry: notify, disable or revoke [disable]
  response cost header the response header whose whole-number value is debited from a key's
                       credits after the response, where the route names none; empty: none
                       (docs/response-cost.md) [none]
  credits low          the percentage of a balance of credits (a key's or its identity's) left
                       at which key.credits_low is sent, once per balance and refill, 0-100;
                       0: never [10]`;

const get: Subcommand = {
  summary: "print the organization's settings (also: keygate settings)",
  help: `Usage: keygate settings [get]

Prints the organization's key lifecycle and notification settings, defaults filled in.

${SETTINGS_TEXT}`,
  async run(ctx) {
    const response = await ctx.client().getOrganizationSettings({});
    return ctx.respond(GetOrganizationSettingsResponseSchema, response, () => printSettings(ctx.io, response.settings));
  },
};

/** A whole number (of days, or a percentage) as given; its bounds are the server's. */
function wholeNumber(ctx: RunContext, flag: string, of = "days"): number | undefined {
  const raw = ctx.values[flag] as string | undefined;
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw.trim())) throw new UsageError(`--${flag} must be a whole number of ${of}; got ${JSON.stringify(raw)}`);
  return Number(raw.trim());
}

/**
 * `80,100` as percentages; only the word `none` for no quota.threshold events: an empty value
 * (an unset shell variable) must not turn the alerts off unasked.
 */
function thresholds(ctx: RunContext): number[] | undefined {
  const raw = ctx.values["quota-thresholds"] as string | undefined;
  if (raw === undefined) return undefined;
  if (raw.trim().toLowerCase() === "none") return [];
  const parts = raw.split(",").map((part) => part.trim());
  if (!parts.every((part) => /^\d{1,9}$/.test(part))) {
    throw new UsageError(`--quota-thresholds must be percentages separated by commas, like 80,100 (or none); got ${JSON.stringify(raw)}`);
  }
  return parts.map(Number);
}

/** notify, disable or revoke, as the enum the API takes. */
function leakedKeyAction(ctx: RunContext): LeakedKeyAction | undefined {
  const raw = ctx.values["leaked-key-action"] as string | undefined;
  if (raw === undefined) return undefined;
  const found = LEAKED_KEY_ACTIONS.find(([word]) => word === raw.trim().toLowerCase());
  if (!found) throw new UsageError(`--leaked-key-action must be notify, disable or revoke; got ${JSON.stringify(raw)}`);
  return found[1];
}

const set: Subcommand = {
  summary: "change settings; only what is given changes",
  help: `Usage: keygate settings set [options]

Changes only the settings given. Admins and owners change the notification settings (expiry
warning, quota thresholds, credits low); only owners change the key lifecycle ones (max key lifetime,
disable unused keys, leaked key action, response cost header), since they reach every key,
owners' included.

Options:
  --expiry-warning-days N            send key.expiring N days before a key expires (1-365)
  --max-key-lifetime-days N          keys expire at most N days after their secret is issued;
                                     0: no maximum (0-3650)
  --disable-unused-keys-after-days N disable keys unused for N days; 0: never (0-3650)
  --quota-thresholds LIST            percentages, ascending, like 80,100; none: no events
  --leaked-key-action ACTION         what a leaked key gets: notify, disable or revoke
  --response-cost-header NAME        debit credits by this response header's value; "": none
  --credits-low-threshold-percent N  send key.credits_low when a balance of credits falls to N%
                                     of what its window allows; 0: never (0-100)

${SETTINGS_TEXT}`,
  options: {
    "expiry-warning-days": { type: "string" },
    "max-key-lifetime-days": { type: "string" },
    "disable-unused-keys-after-days": { type: "string" },
    "quota-thresholds": { type: "string" },
    "leaked-key-action": { type: "string" },
    "response-cost-header": { type: "string" },
    "credits-low-threshold-percent": { type: "string" },
  },
  async run(ctx) {
    const expiryWarningDays = wholeNumber(ctx, "expiry-warning-days");
    const maxKeyLifetimeDays = wholeNumber(ctx, "max-key-lifetime-days");
    const disableUnusedKeysAfterDays = wholeNumber(ctx, "disable-unused-keys-after-days");
    const creditsLowThresholdPercent = wholeNumber(ctx, "credits-low-threshold-percent", "percent");
    const quotaThresholds = thresholds(ctx);
    const leaked = leakedKeyAction(ctx);
    // Checked by the server, which names the field when it is no header name.
    const responseCostHeader = ctx.values["response-cost-header"] as string | undefined;
    const changes = {
      ...(expiryWarningDays !== undefined && { expiryWarningDays }),
      ...(maxKeyLifetimeDays !== undefined && { maxKeyLifetimeDays }),
      ...(disableUnusedKeysAfterDays !== undefined && { disableUnusedKeysAfterDays }),
      ...(quotaThresholds !== undefined && { quotaThresholds, setQuotaThresholds: true }),
      ...(leaked !== undefined && { leakedKeyAction: leaked }),
      ...(responseCostHeader !== undefined && { responseCostHeader }),
      ...(creditsLowThresholdPercent !== undefined && { creditsLowThresholdPercent }),
    };
    if (Object.keys(changes).length === 0) throw new UsageError("nothing to change: give at least one option");
    const response = await ctx.client().updateOrganizationSettings(changes);
    return ctx.respond(UpdateOrganizationSettingsResponseSchema, response, () => printSettings(ctx.io, response.settings));
  },
};

const group = commandGroup("settings", "The organization's key lifecycle, leaked-key and notification settings.", { get, set });
const isHelp = (arg: string) => arg === "--help" || arg === "-h" || arg === "help";

/** `keygate settings` alone (or with only options, like --json) reads them: `get` is implied. */
export const settingsCommand = {
  help: group.help,
  run: (args: string[], io: CommandIo): Promise<number> =>
    group.run(args.length === 0 || (args[0]!.startsWith("-") && !isHelp(args[0]!)) ? ["get", ...args] : args, io),
};
