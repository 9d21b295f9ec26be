import { create } from "@bufbuild/protobuf";
import { ListAuditEventsResponseSchema, type AuditEvent } from "../../gen/keygate/v1/key_admin_pb.js";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import * as parse from "./arguments.js";
import { UsageError } from "./command.js";
import { printTable, time } from "./output.js";
import { singleCommand } from "./remote.js";

/** keygate audit: who did what to which key, newest first. */
export const auditCommand = singleCommand("audit", {
  summary: "the audit log, newest first",
  help: `Usage: keygate audit [--key KEY_ID] [--action ACTION] [--actor-user USER_ID | --actor-key KEY_ID]
                     [--from TIME] [--before TIME] [--page-size N] [--page-token TOKEN | --all]

Prints who did what to which key and when (create, update, delete, revoke, regenerate, failed
admin authentication), newest first.

Options:
  --key KEY_ID           only events about this key
  --action ACTION        only events of this action, e.g. key.revoke, key.leaked, auth.failed
  --actor-user USER_ID   only events made by this user
  --actor-key KEY_ID     only events made with this key
  --from TIME            only events at or after TIME (ISO 8601, e.g. 2027-01-31 or 2027-01-31T12:00:00Z)
  --before TIME          only events before TIME
  --page-size N          events per page, 1-1000 (default 50)
  --page-token TOKEN     the page after the one that printed this token (repeat the same filters)
  --all                  every page`,
  options: {
    key: { type: "string" },
    action: { type: "string" },
    "actor-user": { type: "string" },
    "actor-key": { type: "string" },
    from: { type: "string" },
    before: { type: "string" },
    "page-size": { type: "string" },
    "page-token": { type: "string" },
    all: { type: "boolean", default: false },
  },
  async run(ctx) {
    const text = (name: string) => ctx.values[name] as string | undefined;
    const pageSize = parse.positiveInt("--page-size", text("page-size"), 50);
    const filter = auditFilter(text);
    const events: AuditEvent[] = [];
    let pageToken = text("page-token") ?? "";
    do {
      const page = await ctx.client().listAuditEvents({ ...filter, pageSize, pageToken });
      events.push(...page.events);
      pageToken = page.nextPageToken;
    } while (ctx.values["all"] === true && pageToken !== "");
    return ctx.respond(ListAuditEventsResponseSchema, create(ListAuditEventsResponseSchema, { events, nextPageToken: pageToken }), () => {
      printTable(
        ctx.io,
        ["WHEN", "ACTION", "KEY", "BY KEY", "DETAILS"],
        events.map((e) => [
          time(e.occurredAt),
          e.action,
          e.keyId || "-",
          e.actorKeyId || "-",
          Object.entries(e.details)
            .map(([name, value]) => `${name}=${value}`)
            .join(" "),
        ]),
        "No events.",
      );
      if (pageToken !== "") ctx.io.out(`\nOlder events: keygate audit ${[...repeated(text), "--page-token", pageToken].join(" ")}\n`);
    });
  },
});

/** The filter flags; ids and times are checked here, so a mistyped one is a usage error before anything is sent. */
function auditFilter(text: (name: string) => string | undefined) {
  const from = text("from") === undefined ? undefined : parse.instant("--from", text("from")!);
  const before = text("before") === undefined ? undefined : parse.instant("--before", text("before")!);
  if (from && before && timestampDate(before) <= timestampDate(from)) throw new UsageError("--before must be later than --from");
  return {
    keyId: text("key") === undefined ? "" : parse.id("--key", "key", text("key")!),
    // The server checks an action's form (audit-filter.ts) and names the field when it refuses one.
    action: text("action") ?? "",
    actorUserId: text("actor-user") === undefined ? "" : parse.id("--actor-user", "user", text("actor-user")!),
    actorKeyId: text("actor-key") === undefined ? "" : parse.id("--actor-key", "key", text("actor-key")!),
    ...(from && { occurredFrom: from }),
    ...(before && { occurredBefore: before }),
  };
}

/** The filter flags a next page must repeat (its token is bound to them), as given. */
function repeated(text: (name: string) => string | undefined): string[] {
  return ["key", "action", "actor-user", "actor-key", "from", "before", "page-size"].flatMap((name) => {
    const value = text(name);
    return value === undefined ? [] : [`--${name}`, value];
  });
}
