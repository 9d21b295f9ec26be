import { create } from "@bufbuild/protobuf";
import { ListKeysResponseSchema, type ApiKey } from "../../gen/keygate/v1/key_admin_pb.js";
import { keyState } from "../model/key-state.js";
import * as parse from "./arguments.js";
import { UsageError } from "./command.js";
import { ENVIRONMENT_NAME, rate } from "./key-columns.js";
import { count, printTable, time } from "./output.js";
import type { RunContext, Subcommand } from "./remote.js";

const text = (ctx: RunContext, name: string): string | undefined => ctx.values[name] as string | undefined;
const flag = (ctx: RunContext, name: string): boolean => ctx.values[name] === true;

/** keygate keys list: the organization's keys, filtered, searched and ordered by the server, a page at a time. */
export const listKeysCommand: Subcommand = {
  summary: "list keys, newest first",
  help: `Usage: keygate keys list [--state STATE | --active | --disabled] [--query TEXT] [--order ORDER]
                        [--identity IDENTITY_ID] [--page-size N] [--page-token TOKEN | --all]

Lists the organization's keys, a page at a time, filtered and ordered by the server.

Options:
  --state STATE          active, disabled, revoked or expired (as Check decides it)
  --active               only enabled keys (revoked and expired ones too)
  --disabled             only keys with is_active false (revoked ones too)
  --query TEXT           keys whose name or prefix starts with TEXT (any case), or whose id it is
  --order ORDER          newest (default), oldest, name or name-desc
  --identity IDENTITY_ID only the keys tied to this identity
  --page-size N          keys per page, 1-1000 (default 50)
  --page-token TOKEN     the page after the one that printed this token (repeat the same filters)
  --all                  every page`,
  options: {
    state: { type: "string" },
    active: { type: "boolean", default: false },
    disabled: { type: "boolean", default: false },
    query: { type: "string" },
    order: { type: "string" },
    identity: { type: "string" },
    "page-size": { type: "string" },
    "page-token": { type: "string" },
    all: { type: "boolean", default: false },
  },
  async run(ctx) {
    if (flag(ctx, "active") && flag(ctx, "disabled")) throw new UsageError("--active and --disabled exclude each other");
    const rawState = text(ctx, "state");
    if (rawState !== undefined && (flag(ctx, "active") || flag(ctx, "disabled"))) {
      throw new UsageError("--state replaces --active and --disabled: give one of them");
    }
    const isActive = flag(ctx, "active") ? true : flag(ctx, "disabled") ? false : undefined;
    const filters = {
      ...(isActive !== undefined && { isActive }),
      ...(rawState !== undefined && { state: parse.keyStateFilter(rawState) }),
      ...(text(ctx, "order") !== undefined && { orderBy: parse.keyOrder(text(ctx, "order")!) }),
      query: text(ctx, "query") ?? "",
      identityId: text(ctx, "identity") ?? "",
    };
    const pageSize = parse.positiveInt("--page-size", text(ctx, "page-size"), 50);
    const keys: ApiKey[] = [];
    let pageToken = text(ctx, "page-token") ?? "";
    do {
      const page = await ctx.client().listKeys({ pageSize, pageToken, ...filters });
      keys.push(...page.keys);
      pageToken = page.nextPageToken;
    } while (flag(ctx, "all") && pageToken !== "");
    return ctx.respond(ListKeysResponseSchema, create(ListKeysResponseSchema, { keys, nextPageToken: pageToken }), () => {
      printTable(
        ctx.io,
        ["ID", "NAME", "PREFIX", "ENV", "STATE", "RATE", "TODAY", "LAST USED", "SCOPES"],
        keys.map((k) => [k.id, k.name, k.keyPrefix, ENVIRONMENT_NAME[k.environment], keyState(k, Date.now()), rate(k), count(k.usage?.requestsToday ?? 0n), time(k.lastUsedAt), k.scopes.join(" ")]),
        "No keys.",
      );
      if (pageToken !== "") ctx.io.out(`\nMore keys: keygate keys list ${[...sameFilters(ctx), "--page-token", pageToken].join(" ")}\n`);
    });
  },
};

/** The list flags a next page must repeat (its token is bound to them), as given. */
function sameFilters(ctx: RunContext): string[] {
  const given = (name: string, value: string | undefined) => (value === undefined ? [] : [`--${name}`, /^[\w.:-]+$/.test(value) ? value : JSON.stringify(value)]);
  return [
    ...(flag(ctx, "active") ? ["--active"] : flag(ctx, "disabled") ? ["--disabled"] : []),
    ...given("state", text(ctx, "state")),
    ...given("query", text(ctx, "query")),
    ...given("order", text(ctx, "order")),
    ...given("identity", text(ctx, "identity")),
    ...given("page-size", text(ctx, "page-size")),
  ];
}
