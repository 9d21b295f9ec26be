import {
  CreateKeyResponseSchema,
  DeleteKeyResponseSchema,
  GetKeyResponseSchema,
  KeyType,
  LimitOwner,
  RegenerateKeyResponseSchema,
  RevokeKeyResponseSchema,
  TestKeyResponseSchema,
  UpdateKeyResponseSchema,
  type ApiKey,
  type TestKeyResponse,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { keyState } from "../model/key-state.js";
import * as parse from "./arguments.js";
import { EXIT, UsageError, type CommandIo } from "./command.js";
import { credits, creditsText, limitsText, namedLimit } from "./metering-arguments.js";
import { count, PERIOD_NAME, printFields, time } from "./output.js";
import { ENVIRONMENT_NAME, rate } from "./key-columns.js";
import { listKeysCommand } from "./keys-list-command.js";
import { commandGroup, type RunContext, type Subcommand } from "./remote.js";

/** keygate keys …: the key lifecycle against a running server. */

const KEY_TYPE_NAME: Record<KeyType, string> = { [KeyType.UNSPECIFIED]: "-", [KeyType.USER]: "user", [KeyType.SHARED]: "shared" };

function printKey(io: CommandIo, key: ApiKey): void {
  printFields(io, [
    ["id", key.id],
    ["name", key.name],
    ["description", key.description || "-"],
    ["prefix", key.keyPrefix],
    ["state", keyState(key, Date.now())],
    ["environment", ENVIRONMENT_NAME[key.environment]],
    ["type", KEY_TYPE_NAME[key.keyType]],
    ["owner", key.ownerUserId],
    ["scopes", key.scopes.join(" ") || "-"],
    ["allowed IPs", key.allowIps.join(" ") || "any"],
    ["rate limit", rate(key)],
    ...(key.limits.length > 0 ? ([["limits", limitsText(key.limits)]] as const) : []),
    ...(key.credits ? ([["credits", creditsText(key.credits)]] as const) : []),
    ...(key.identityId ? ([["identity", key.identityId]] as const) : []),
    ["expires", time(key.expiresAt)],
    ["created", `${time(key.createdAt)} by ${key.createdBy}`],
    ["updated", time(key.updatedAt)],
    ["last used", time(key.lastUsedAt)],
    ["requests", `${count(key.usage?.requestsToday ?? 0n)} today, ${count(key.usage?.requestsThisMonth ?? 0n)} this month, ${count(key.usage?.totalRequests ?? 0n)} in all`],
    ...(key.revokedAt ? ([["revoked", time(key.revokedAt)]] as const) : []),
    ...(key.previousSecretExpiresAt ? ([["old secret until", time(key.previousSecretExpiresAt)]] as const) : []),
  ]);
}

function printSecret(io: CommandIo, secret: string): void {
  io.out(`\nThe secret, shown this once (keygate keeps only its hash; store it in a secret manager):\n\n  ${secret}\n\n`);
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? (value as string[]) : []);
const text = (ctx: RunContext, name: string): string | undefined => ctx.values[name] as string | undefined;
const flag = (ctx: RunContext, name: string): boolean => ctx.values[name] === true;

const SETTINGS_OPTIONS = {
  name: { type: "string" },
  description: { type: "string" },
  scope: { type: "string", multiple: true },
  "allow-ip": { type: "string", multiple: true },
  "rate-limit": { type: "string" },
  expires: { type: "string" },
  owner: { type: "string" },
  limit: { type: "string", multiple: true },
  credits: { type: "string" },
  refill: { type: "string" },
  identity: { type: "string" },
} as const;

/** The settings create and update take; `owner` says what an absent --owner means to the command. */
const settingsHelp = (owner: string) => `  --name NAME            the key's name
  --description TEXT     what it is for
  --scope SCOPE          a scope to grant (repeat for more), e.g. --scope machines:read
  --allow-ip CIDR        an address or range it may be used from (repeat for more)
  --rate-limit N/PERIOD  e.g. 100/minute (second, minute, hour, day); 0 for the most the owner may have
  --expires TIME         ISO 8601, e.g. 2027-01-31 or 2027-01-31T12:00:00Z
  --owner USER_ID        the responsible user (${owner})
  --limit NAME=N/PERIOD  a named limit beside the rate limit, e.g. daily=10000/day (repeat for more)
  --credits N            the key's own balance; --refill N/daily or N/monthly:DAY refills it
  --identity ID          the identity (customer) whose limits and credits it shares`;

/** The metering flags both create and update take (docs/identities.md). */
function metering(ctx: RunContext) {
  const given = text(ctx, "credits");
  if (given === undefined && text(ctx, "refill") !== undefined) throw new UsageError("--refill goes with --credits");
  return {
    limits: strings(ctx.values["limit"]).map((limit) => namedLimit("--limit", limit)),
    ...(given !== undefined && { credits: credits(given, text(ctx, "refill")) }),
  };
}

const get: Subcommand = {
  summary: "show one key",
  help: `Usage: keygate keys get KEY_ID

Shows a key's settings, state and usage totals (never its secret).`,
  positionals: [1, 1],
  async run(ctx) {
    const response = await ctx.client().getKey({ id: ctx.positionals[0]! });
    return ctx.respond(GetKeyResponseSchema, response, () => printKey(ctx.io, response.key!));
  },
};

const createKey: Subcommand = {
  summary: "create a key and print its secret once",
  help: `Usage: keygate keys create --name NAME [options]

Creates a key and prints its secret: the only time it is shown.

Options:
${settingsHelp("default: the admin key's user")}
  --environment ENV      live (default) or test: the secret's prefix
  --type TYPE            user (default) or shared
  --disabled             create it disabled`,
  options: { ...SETTINGS_OPTIONS, environment: { type: "string" }, type: { type: "string" }, disabled: { type: "boolean", default: false } },
  async run(ctx) {
    const name = text(ctx, "name");
    if (!name) throw new UsageError("--name NAME is required");
    const limit = text(ctx, "rate-limit");
    const expires = text(ctx, "expires");
    const env = text(ctx, "environment");
    const type = text(ctx, "type");
    const response = await ctx.client().createKey({
      name,
      description: text(ctx, "description") ?? "",
      scopes: strings(ctx.values["scope"]),
      allowIps: strings(ctx.values["allow-ip"]),
      ...(limit !== undefined && parse.rateLimit("--rate-limit", limit).rateLimit > 0 && parse.rateLimit("--rate-limit", limit)),
      ...(expires !== undefined && { expiresAt: parse.instant("--expires", expires) }),
      ...(env !== undefined && { environment: parse.environment(env) }),
      ...(type !== undefined && { keyType: parse.keyType(type) }),
      ownerUserId: text(ctx, "owner") ?? "",
      isActive: !flag(ctx, "disabled"),
      ...metering(ctx),
      identityId: text(ctx, "identity") ?? "",
    });
    return ctx.respond(CreateKeyResponseSchema, response, () => {
      printKey(ctx.io, response.key!);
      printSecret(ctx.io, response.secret);
    });
  },
};

const update: Subcommand = {
  summary: "change a key's settings; only what is given changes",
  help: `Usage: keygate keys update KEY_ID [options]

Changes only the settings given.

Options:
${settingsHelp("absent: unchanged")}
  --no-scopes            remove every scope
  --any-ip               remove the allow-list (every address may use it)
  --no-expiry            remove the expiry
  --no-limits            remove every named limit
  --no-credits           remove the key's credits
  --no-identity          untie it from its identity
  --enable | --disable   turn the key on or off`,
  options: {
    ...SETTINGS_OPTIONS,
    "no-scopes": { type: "boolean", default: false },
    "any-ip": { type: "boolean", default: false },
    "no-expiry": { type: "boolean", default: false },
    "no-limits": { type: "boolean", default: false },
    "no-credits": { type: "boolean", default: false },
    "no-identity": { type: "boolean", default: false },
    enable: { type: "boolean", default: false },
    disable: { type: "boolean", default: false },
  },
  positionals: [1, 1],
  async run(ctx) {
    const scopes = strings(ctx.values["scope"]);
    const allowIps = strings(ctx.values["allow-ip"]);
    const conflicts: [string, boolean][] = [
      ["--scope and --no-scopes", scopes.length > 0 && flag(ctx, "no-scopes")],
      ["--allow-ip and --any-ip", allowIps.length > 0 && flag(ctx, "any-ip")],
      ["--expires and --no-expiry", text(ctx, "expires") !== undefined && flag(ctx, "no-expiry")],
      ["--enable and --disable", flag(ctx, "enable") && flag(ctx, "disable")],
      ["--limit and --no-limits", strings(ctx.values["limit"]).length > 0 && flag(ctx, "no-limits")],
      ["--credits and --no-credits", text(ctx, "credits") !== undefined && flag(ctx, "no-credits")],
      ["--identity and --no-identity", text(ctx, "identity") !== undefined && flag(ctx, "no-identity")],
    ];
    for (const [pair, clash] of conflicts) if (clash) throw new UsageError(`${pair} exclude each other`);
    const limit = text(ctx, "rate-limit");
    const expires = text(ctx, "expires");
    const changes = {
      ...(text(ctx, "name") !== undefined && { name: text(ctx, "name")! }),
      ...(text(ctx, "description") !== undefined && { description: text(ctx, "description")! }),
      ...((scopes.length > 0 || flag(ctx, "no-scopes")) && { scopes: { values: scopes } }),
      ...((allowIps.length > 0 || flag(ctx, "any-ip")) && { allowIps: { values: allowIps } }),
      ...(limit !== undefined && parse.rateLimit("--rate-limit", limit)),
      ...(expires !== undefined && { expiresAt: parse.instant("--expires", expires) }),
      ...(flag(ctx, "no-expiry") && { clearExpiresAt: true }),
      ...((flag(ctx, "enable") || flag(ctx, "disable")) && { isActive: flag(ctx, "enable") }),
      ...(text(ctx, "owner") !== undefined && { ownerUserId: text(ctx, "owner")! }),
      ...meteringChanges(ctx),
    };
    if (Object.keys(changes).length === 0) throw new UsageError("nothing to change: give at least one option");
    const response = await ctx.client().updateKey({ id: ctx.positionals[0]!, ...changes });
    return ctx.respond(UpdateKeyResponseSchema, response, () => printKey(ctx.io, response.key!));
  },
};

/** UpdateKey's metering: only what is given changes; --no-* removes. */
function meteringChanges(ctx: RunContext) {
  const { limits, credits: given } = metering(ctx);
  return {
    ...((limits.length > 0 || flag(ctx, "no-limits")) && { limits: { values: limits } }),
    ...(given && { credits: given }),
    ...(flag(ctx, "no-credits") && { clearCredits: true }),
    ...(text(ctx, "identity") !== undefined && { identityId: text(ctx, "identity")! }),
    ...(flag(ctx, "no-identity") && { identityId: "" }),
  };
}

const revoke: Subcommand = {
  summary: "stop a key for good, keeping its record",
  help: `Usage: keygate keys revoke KEY_ID [--reason TEXT]

The key stops working at once and for good; its record stays for audit and billing.

Options:
  --reason TEXT          kept in the audit log`,
  options: { reason: { type: "string" } },
  positionals: [1, 1],
  async run(ctx) {
    const response = await ctx.client().revokeKey({ id: ctx.positionals[0]!, reason: text(ctx, "reason") ?? "" });
    return ctx.respond(RevokeKeyResponseSchema, response, () => printKey(ctx.io, response.key!));
  },
};

const rotate: Subcommand = {
  summary: "issue a new secret; the old one may work for a grace period",
  help: `Usage: keygate keys rotate KEY_ID [--grace DURATION]

Issues a new secret with the same settings and prints it once.

Options:
  --grace DURATION       how long the old secret keeps working: seconds or 90s, 15m, 1h, 7d
                         (default 0: it stops at once; at most 30d)`,
  options: { grace: { type: "string" } },
  positionals: [1, 1],
  async run(ctx) {
    const grace = text(ctx, "grace");
    const response = await ctx.client().regenerateKey({
      id: ctx.positionals[0]!,
      gracePeriodSeconds: grace === undefined ? 0 : parse.durationSeconds("--grace", grace),
    });
    return ctx.respond(RegenerateKeyResponseSchema, response, () => {
      printKey(ctx.io, response.key!);
      printSecret(ctx.io, response.secret);
    });
  },
};

const remove: Subcommand = {
  summary: "delete a key for good (needs --yes)",
  help: `Usage: keygate keys delete KEY_ID --yes

Removes the key: it stops working at once and its record is gone. To keep the record for
audit and billing, revoke it instead.

Options:
  --yes                  confirm (required)`,
  options: { yes: { type: "boolean", default: false } },
  positionals: [1, 1],
  async run(ctx) {
    if (!flag(ctx, "yes")) throw new UsageError("deleting cannot be undone: add --yes to confirm (or revoke the key instead)");
    const response = await ctx.client().deleteKey({ id: ctx.positionals[0]! });
    return ctx.respond(DeleteKeyResponseSchema, response, () => ctx.io.out(`deleted ${ctx.positionals[0]}\n`));
  },
};

const OWNER_PREFIX: Record<LimitOwner, string> = { [LimitOwner.UNSPECIFIED]: "", [LimitOwner.KEY]: "", [LimitOwner.IDENTITY]: "identity " };

/**
 * What else a Check of the key spends, beside its rate limit (shown above it as `rate limit`):
 * its named limits, its identity's, and the credit balances.
 */
function spendingFields(response: TestKeyResponse): [string, string][] {
  const limits = response.limits
    .filter((limit) => !(limit.owner === LimitOwner.KEY && limit.name === "default"))
    .map((limit): [string, string] => [
      `${OWNER_PREFIX[limit.owner]}limit ${limit.name}`,
      `${limit.remaining} of ${limit.limit} per ${PERIOD_NAME[limit.period]} left until ${time(limit.resetAt)}`,
    ]);
  const credits = response.credits.map((balance): [string, string] => [
    `${OWNER_PREFIX[balance.owner]}credits`,
    `${balance.left} of ${balance.limit} left${balance.refillsAt ? `, refilled ${time(balance.refillsAt)}` : " (no refill)"}`,
  ]);
  return [...limits, ...credits];
}

const test: Subcommand = {
  summary: "say whether a secret is valid (exit 0) or not (exit 5)",
  help: `Usage: keygate keys test [SECRET | -]

Says whether a secret works in this organization and what is left of every limit and credit
balance a request with it spends (its own and its identity's), using none of them. Reads the
secret from standard input when it is "-" or not given (keeps it out of ps and shell history):
  printenv SOME_KEY | keygate keys test
Exits 0 when it is valid, 5 when it is not.`,
  positionals: [0, 1],
  async run(ctx) {
    let secret = ctx.positionals[0];
    if (secret === undefined || secret === "-") {
      if (!ctx.io.readStdin) throw new UsageError("give the secret to test, or pipe it on standard input");
      secret = (await ctx.io.readStdin()).trim();
    }
    if (secret === "") throw new UsageError("the secret to test is empty");
    const response = await ctx.client().testKey({ apiKey: secret });
    ctx.respond(TestKeyResponseSchema, response, () =>
      printFields(
        ctx.io,
        response.valid
          ? [
              ["valid", "yes"],
              ["key", `${response.keyId} (${response.name})`],
              ["scopes", response.scopes.join(" ") || "-"],
              ["expires", time(response.expiresAt)],
              ...(response.rateLimit && response.rateLimit.limit > 0
                ? ([["rate limit", `${response.rateLimit.remaining} of ${response.rateLimit.limit} left until ${time(response.rateLimit.resetAt)}`]] as const)
                : []),
              ...spendingFields(response),
            ]
          : [
              ["valid", "no"],
              ["reason", response.reason || "API_KEY_INVALID"],
              ...(response.keyId ? ([["key", response.keyId]] as const) : []),
            ],
      ),
    );
    return response.valid ? EXIT.ok : EXIT.keyInvalid;
  },
};

export const keysCommand = commandGroup("keys", "Manage the API keys of the admin key's organization on a running keygate.", {
  list: listKeysCommand,
  get,
  create: createKey,
  update,
  rotate,
  revoke,
  delete: remove,
  test,
});
