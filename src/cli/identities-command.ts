import {
  CreateIdentityResponseSchema,
  DeleteIdentityResponseSchema,
  GetIdentityResponseSchema,
  GetIdentityUsageResponseSchema,
  ListIdentitiesResponseSchema,
  UpdateIdentityResponseSchema,
  type Identity,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import * as parse from "./arguments.js";
import { EXIT, UsageError, type CommandIo } from "./command.js";
import { credits, creditsText, limitsText, meta, namedLimit } from "./metering-arguments.js";
import { count, printFields, printTable, time } from "./output.js";
import { commandGroup, type RunContext, type Subcommand } from "./remote.js";

/**
 * keygate identities …: the organization's identities (its customers, whose limits and credits
 * their keys share), on a running server.
 */

const text = (ctx: RunContext, name: string): string | undefined => ctx.values[name] as string | undefined;
const flag = (ctx: RunContext, name: string): boolean => ctx.values[name] === true;
const many = (ctx: RunContext, name: string): string[] => (ctx.values[name] as string[] | undefined) ?? [];

const metaText = (identity: Identity): string =>
  Object.entries(identity.meta)
    .map(([key, value]) => `${key}=${value}`)
    .join(" ") || "-";

function printIdentity(io: CommandIo, identity: Identity): void {
  printFields(io, [
    ["id", identity.id],
    ["external id", identity.externalId],
    ["name", identity.name || "-"],
    ["meta", metaText(identity)],
    ["limits", limitsText(identity.limits)],
    ["credits", creditsText(identity.credits)],
    ["created", time(identity.createdAt)],
    ["updated", time(identity.updatedAt)],
  ]);
}

const METERING_OPTIONS = {
  limit: { type: "string", multiple: true },
  credits: { type: "string" },
  refill: { type: "string" },
  meta: { type: "string", multiple: true },
  name: { type: "string" },
} as const;

const METERING_HELP = `  --name TEXT            what to call it
  --meta KEY=VALUE       an entry of its own data (repeat for more)
  --limit NAME=N/PERIOD  a limit its keys share, e.g. burst=10/second (repeat for more)
  --credits N            the balance its keys spend
  --refill N/INTERVAL    with --credits: 1000/daily, or 1000/monthly:15 (on the 15th)`;

const creditsOf = (ctx: RunContext) => {
  const given = text(ctx, "credits");
  if (given === undefined && text(ctx, "refill") !== undefined) throw new UsageError("--refill goes with --credits");
  return given === undefined ? undefined : credits(given, text(ctx, "refill"));
};

const createIdentity: Subcommand = {
  summary: "add an identity",
  help: `Usage: keygate identities create --external-id ID [options]

Adds an identity: a customer of the organization whose limits and credits every key tied to it
(keys create/update with an identity_id) shares.

Options:
  --external-id ID       your own id for this customer (unique in the organization)
${METERING_HELP}`,
  options: { "external-id": { type: "string" }, ...METERING_OPTIONS },
  async run(ctx) {
    const externalId = text(ctx, "external-id");
    if (!externalId) throw new UsageError("--external-id ID is required");
    const given = creditsOf(ctx);
    const response = await ctx.client().createIdentity({
      externalId,
      name: text(ctx, "name") ?? "",
      meta: meta("--meta", many(ctx, "meta")),
      limits: many(ctx, "limit").map((limit) => namedLimit("--limit", limit)),
      ...(given && { credits: given }),
    });
    return ctx.respond(CreateIdentityResponseSchema, response, () => printIdentity(ctx.io, response.identity!));
  },
};

const list: Subcommand = {
  summary: "list the organization's identities",
  help: `Usage: keygate identities list [--external-id ID] [--page-size N] [--page-token TOKEN]

Options:
  --external-id ID       only the identity with this external id
  --page-size N          identities per page, 1-1000 (default 50)
  --page-token TOKEN     the page after the one that printed this token`,
  options: { "external-id": { type: "string" }, "page-size": { type: "string" }, "page-token": { type: "string" } },
  async run(ctx) {
    const pageSize = parse.positiveInt("--page-size", text(ctx, "page-size"), 50, 1000);
    const response = await ctx.client().listIdentities({ externalId: text(ctx, "external-id") ?? "", pageSize, pageToken: text(ctx, "page-token") ?? "" });
    return ctx.respond(ListIdentitiesResponseSchema, response, () => {
      printTable(
        ctx.io,
        ["ID", "EXTERNAL ID", "NAME", "LIMITS", "CREDITS", "CREATED"],
        response.identities.map((i) => [i.id, i.externalId, i.name || "-", limitsText(i.limits), creditsText(i.credits), time(i.createdAt)]),
        "No identities: add one with keygate identities create --external-id ID.",
      );
      if (response.nextPageToken !== "") ctx.io.out(`\nMore: keygate identities list --page-token ${response.nextPageToken}\n`);
    });
  },
};

const get: Subcommand = {
  summary: "show an identity",
  help: `Usage: keygate identities get IDENTITY_ID`,
  positionals: [1, 1],
  argumentNames: ["IDENTITY_ID"],
  async run(ctx) {
    const response = await ctx.client().getIdentity({ id: ctx.positionals[0]! });
    return ctx.respond(GetIdentityResponseSchema, response, () => printIdentity(ctx.io, response.identity!));
  },
};

const update: Subcommand = {
  summary: "change an identity; only what is given changes",
  help: `Usage: keygate identities update IDENTITY_ID [options]

Changes only the settings given. --meta and --limit replace all of them.

Options:
  --external-id ID       a new external id
${METERING_HELP}
  --no-limits            remove every limit
  --no-credits           remove the credits`,
  options: { "external-id": { type: "string" }, ...METERING_OPTIONS, "no-limits": { type: "boolean", default: false }, "no-credits": { type: "boolean", default: false } },
  positionals: [1, 1],
  argumentNames: ["IDENTITY_ID"],
  async run(ctx) {
    const limits = many(ctx, "limit");
    if (limits.length > 0 && flag(ctx, "no-limits")) throw new UsageError("--limit and --no-limits exclude each other");
    const given = creditsOf(ctx);
    if (given && flag(ctx, "no-credits")) throw new UsageError("--credits and --no-credits exclude each other");
    const changes = {
      ...(text(ctx, "external-id") !== undefined && { externalId: text(ctx, "external-id")! }),
      ...(text(ctx, "name") !== undefined && { name: text(ctx, "name")! }),
      ...(many(ctx, "meta").length > 0 && { meta: { values: meta("--meta", many(ctx, "meta")) } }),
      ...((limits.length > 0 || flag(ctx, "no-limits")) && { limits: { values: limits.map((limit) => namedLimit("--limit", limit)) } }),
      ...(given && { credits: given }),
      ...(flag(ctx, "no-credits") && { clearCredits: true }),
    };
    if (Object.keys(changes).length === 0) throw new UsageError("nothing to change: give at least one option");
    const response = await ctx.client().updateIdentity({ id: ctx.positionals[0]!, ...changes });
    return ctx.respond(UpdateIdentityResponseSchema, response, () => printIdentity(ctx.io, response.identity!));
  },
};

const remove: Subcommand = {
  summary: "delete an identity no unrevoked key is tied to (needs --yes)",
  help: `Usage: keygate identities delete IDENTITY_ID --yes

Deletes the identity. Refused while keys that are not revoked are tied to it: untie each first
(keygate keys update KEY_ID --no-identity) or revoke it (keygate keys revoke KEY_ID).

Options:
  --yes                  confirm (required)`,
  options: { yes: { type: "boolean", default: false } },
  positionals: [1, 1],
  argumentNames: ["IDENTITY_ID"],
  async run(ctx) {
    if (!flag(ctx, "yes")) throw new UsageError("deleting cannot be undone: add --yes to confirm");
    const id = ctx.positionals[0]!;
    let response;
    try {
      response = await ctx.client().deleteIdentity({ id });
    } catch (error) {
      const tied = stillTied(error, id);
      if (tied === undefined) throw error;
      ctx.io.err(`keygate identities delete: ${tied}\n`);
      return EXIT.usage;
    }
    return ctx.respond(DeleteIdentityResponseSchema, response, () => ctx.io.out(`deleted ${ctx.positionals[0]}\n`));
  },
};

/**
 * IDENTITY_IN_USE in the CLI's own words: the API's message says how to untie in RPC terms
 * (UpdateKey), which a CLI user would have to translate. A refusal of the request, so exit 2.
 */
function stillTied(error: unknown, id: string): string | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  const info = error.findDetails(ErrorInfoSchema)[0];
  if (info?.reason !== "IDENTITY_IN_USE") return undefined;
  const keys = Number(info.metadata["keys"]);
  const named = info.metadata["keyIds"]?.split(",").filter(Boolean) ?? [];
  const more = keys > named.length ? `, and ${keys - named.length} more (keygate keys list --identity ${id})` : "";
  return `${keys} key${keys === 1 ? " is" : "s are"} still tied to ${id}: ${named.join(", ")}${more}. Untie each with \`keygate keys update KEY_ID --no-identity\`, or revoke it with \`keygate keys revoke KEY_ID\`, then delete again`;
}

const usage: Subcommand = {
  summary: "usage of the keys tied to an identity",
  help: `Usage: keygate identities usage IDENTITY_ID [--period PERIOD]

Options:
  --period PERIOD        day (today), week (last 7 days, default) or month (last 30 days)`,
  options: { period: { type: "string" } },
  positionals: [1, 1],
  argumentNames: ["IDENTITY_ID"],
  async run(ctx) {
    const period = parse.usagePeriod(text(ctx, "period") ?? "week");
    const response = await ctx.client().getIdentityUsage({ id: ctx.positionals[0]!, period });
    return ctx.respond(GetIdentityUsageResponseSchema, response, () => {
      printFields(ctx.io, [
        ["identity", response.identityId],
        ["requests", count(response.totalRequests)],
        ["successful", count(response.successfulRequests)],
        ["failed", count(response.failedRequests)],
        ["rate limited", count(response.rateLimitedRequests)],
      ]);
      ctx.io.out("\n");
      printTable(ctx.io, ["KEY", "NAME", "REQUESTS"], response.requestsByKey.map((k) => [k.keyId, k.name, count(k.requests)]), "No keys are tied to it.");
      ctx.io.out("\n");
      printTable(ctx.io, ["DAY", "REQUESTS", "ERRORS"], response.dailyBreakdown.map((d) => [d.date, count(d.requests), count(d.errors)]));
    });
  },
};

export const identitiesCommand = commandGroup("identities", "Manage the identities (customers) of the admin key's organization on a running keygate.", {
  create: createIdentity,
  list,
  get,
  update,
  delete: remove,
  usage,
});
