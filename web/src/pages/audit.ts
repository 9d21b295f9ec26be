import type { AuditEvent } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { loadDirectory, type Directory } from "../directory.js";
import { h, table, type Child } from "../dom.js";
import { formatTime } from "../format.js";
import { errorBox, heading, section, showError, type PageContext } from "../ui.js";
import { ACTION_TEXT, auditFilterForm, type AuditFilters } from "./audit-filters.js";

/** The audit log, newest first, 50 at a time: names for the ids, filters, and older pages on demand. */

/**
 * A name, its id as the tooltip and, where `withId`, under it; the id alone when the name is
 * unknown (a key deleted since, the bootstrap). Only a key that still exists gets a link.
 */
function named(name: string | undefined, id: string, options: { href?: string; withId?: boolean } = {}): Child {
  if (name === undefined) return h("span", { class: "unnamed" }, id);
  const label = options.href ? h("a", { href: options.href, title: id }, name) : h("span", { title: id }, name);
  return options.withId ? h("div", null, label, h("small", { class: "raw-id" }, id)) : label;
}

const keyLink = (id: string) => `#/keys/${encodeURIComponent(id)}`;

/** Who: the user by name and, under it, the key they used; both ids are in the tooltips. */
function actorCell(event: AuditEvent, directory: Directory): Child {
  if (event.actorUserId === "" && event.actorKeyId === "") return "—";
  const user = event.actorUserId && named(directory.userName(event.actorUserId), event.actorUserId);
  const key = event.actorKeyId && h("span", { class: "via" }, "with key ", named(directory.keyName(event.actorKeyId), event.actorKeyId, { href: keyLink(event.actorKeyId) }));
  // One element per cell: a phone's card lays a cell's children out as label and value.
  return h("div", null, user, key);
}

const HEADERS = ["When", "Action", "Key", "Done by", "Details"];

function rows(events: readonly AuditEvent[], directory: Directory) {
  return events.map((event) => [
    h("span", { class: "when" }, formatTime(event.occurredAt)),
    h("span", { class: "action", title: event.action }, ACTION_TEXT[event.action] ?? event.action),
    event.keyId ? named(directory.keyName(event.keyId), event.keyId, { href: keyLink(event.keyId), withId: true }) : "—",
    actorCell(event, directory),
    h(
      "span",
      { class: "details" },
      Object.entries(event.details)
        .map(([name, value]) => `${name}: ${value}`)
        .join("; ") || "—",
    ),
  ]);
}

const filtered = (filters: AuditFilters): boolean =>
  filters.keyId !== "" || filters.action !== "" || filters.actorUserId !== "" || !!filters.occurredFrom || !!filters.occurredBefore;

/** What to say when nothing matches, and what to do about it. */
function emptyText(filters: AuditFilters): Child {
  if (filtered(filters)) return "No event matches these filters. Widen the dates or choose “Any action” and “Anyone”, or clear the filters.";
  return ["No events yet. Every change to a key, user, webhook or setting is recorded here: ", h("a", { href: "#/keys" }, "create a key"), " to see the first."];
}

export async function auditTable(options: { keyId?: string; filters?: AuditFilters; directory?: Directory; signal: AbortSignal }): Promise<HTMLElement> {
  const filters = options.filters ?? { keyId: options.keyId ?? "", action: "", actorUserId: "" };
  const request = { ...filters, pageSize: 50 };
  const [first, directory] = await Promise.all([
    api.listAuditEvents(request, { signal: options.signal }),
    options.directory ?? loadDirectory(options.signal),
  ]);
  const events = [...first.events];
  let token = first.nextPageToken;
  const holder = h("div", { class: "audit-log" });
  const problem = errorBox();
  const more = h("button", { type: "button", class: "secondary", hidden: token === "" }, "Load older events");
  const draw = () =>
    holder.replaceChildren(table("Audit events", HEADERS, rows(events, directory), emptyText(filters), { cards: true }));
  more.addEventListener("click", () => {
    more.disabled = true;
    api.listAuditEvents({ ...request, pageToken: token }, { signal: options.signal }).then(
      (page) => {
        events.push(...page.events);
        token = page.nextPageToken;
        more.hidden = token === "";
        more.disabled = false;
        draw();
      },
      (error: unknown) => {
        more.disabled = false;
        showError(problem, error);
      },
    );
  });
  draw();
  return h("div", null, holder, problem, more);
}

export function renderAudit(ctx: PageContext): void {
  const body = h("div");
  ctx.main.replaceChildren(heading("Audit log"), h("p", null, "Who did what, to which key, and when; newest first. Times are UTC."), body);
  void section(
    body,
    async () => {
      const directory = await loadDirectory(ctx.signal);
      const results = h("div");
      const load = (filters: AuditFilters) => void section(results, () => auditTable({ filters, directory, signal: ctx.signal }), ctx.signal);
      const form = auditFilterForm(directory, load);
      load({ keyId: "", action: "", actorUserId: "" });
      return [form, results];
    },
    ctx.signal,
  );
}
