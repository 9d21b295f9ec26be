import { create } from "@bufbuild/protobuf";
import { ListAuditEventsResponseSchema, type AuditEvent } from "../../gen/keygate/v1/key_admin_pb.js";
import * as parse from "./arguments.js";
import { printTable, time } from "./output.js";
import { singleCommand } from "./remote.js";

/** keygate audit: who did what to which key, newest first. */
export const auditCommand = singleCommand("audit", {
  summary: "the audit log, newest first",
  help: `Usage: keygate audit [--key KEY_ID] [--page-size N] [--page-token TOKEN | --all]

Prints who did what to which key and when (create, update, delete, revoke, regenerate, failed
admin authentication), newest first.

Options:
  --key KEY_ID           only events about this key
  --page-size N          events per page, 1-1000 (default 50)
  --page-token TOKEN     the page after the one that printed this token
  --all                  every page`,
  options: {
    key: { type: "string" },
    "page-size": { type: "string" },
    "page-token": { type: "string" },
    all: { type: "boolean", default: false },
  },
  async run(ctx) {
    const pageSize = parse.positiveInt("--page-size", ctx.values["page-size"] as string | undefined, 50);
    const keyId = (ctx.values["key"] as string | undefined) ?? "";
    const events: AuditEvent[] = [];
    let pageToken = (ctx.values["page-token"] as string | undefined) ?? "";
    do {
      const page = await ctx.client().listAuditEvents({ keyId, pageSize, pageToken });
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
      if (pageToken !== "") ctx.io.out(`\nOlder events: keygate audit --page-token ${pageToken}\n`);
    });
  },
});
