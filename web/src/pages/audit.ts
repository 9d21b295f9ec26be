import type { AuditEvent } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { field, h, table } from "../dom.js";
import { formatTime } from "../format.js";
import { errorBox, heading, section, showError, type PageContext } from "../ui.js";

/** The audit log, newest first, 50 at a time, optionally for one key. */

const ACTION_TEXT: Record<string, string> = {
  "key.create": "created",
  "key.update": "updated",
  "key.delete": "deleted",
  "key.revoke": "revoked",
  "key.regenerate": "rotated",
  "auth.failed": "failed sign-in",
};

function rows(events: readonly AuditEvent[]) {
  return events.map((event) => [
    formatTime(event.occurredAt),
    h("span", { class: "action" }, ACTION_TEXT[event.action] ?? event.action),
    event.keyId ? h("a", { href: `#/keys/${encodeURIComponent(event.keyId)}` }, event.keyId) : "—",
    event.actorKeyId || "—",
    Object.entries(event.details)
      .map(([name, value]) => `${name}: ${value}`)
      .join("; ") || "—",
  ]);
}

export async function auditTable(options: { keyId?: string; signal: AbortSignal }): Promise<HTMLElement> {
  const request = { keyId: options.keyId ?? "", pageSize: 50 };
  const first = await api.listAuditEvents(request, { signal: options.signal });
  const events = [...first.events];
  let token = first.nextPageToken;
  const holder = h("div");
  const problem = errorBox();
  const more = h("button", { type: "button", class: "secondary", hidden: token === "" }, "Load older events");
  const draw = () =>
    holder.replaceChildren(table("Audit events", ["When", "Action", "Key", "By key", "Details"], rows(events), "No events yet."));
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
  const keyId = h("input", { type: "text", name: "keyId", autocomplete: "off", placeholder: "key_…" });
  const results = h("div");
  const load = () => void section(results, () => auditTable({ keyId: keyId.value.trim(), signal: ctx.signal }), ctx.signal);
  const form = h("form", { method: "post", class: "toolbar", novalidate: true }, field("Only events of key", keyId), h("button", { type: "submit", class: "secondary" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  ctx.main.replaceChildren(heading("Audit log"), h("p", null, "Who did what to which key, newest first."), form, results);
  load();
}
