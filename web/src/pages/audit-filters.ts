import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Directory } from "../directory.js";
import { field, h, select } from "../dom.js";

/** The audit log's filters: what was done, by whom, to which key, between which UTC days. */

export const ACTION_TEXT: Record<string, string> = {
  "key.create": "created",
  "key.update": "updated",
  "key.disable": "disabled",
  "key.revoke": "revoked",
  "key.regenerate": "rotated",
  "key.delete": "deleted",
  "key.reveal": "secret shown",
  "key.leaked": "reported leaked",
  "auth.failed": "failed sign-in",
  "user.add": "user added",
  "user.update": "user changed",
  "user.remove": "user removed",
  "webhook.create": "webhook added",
  "webhook.update": "webhook changed",
  "webhook.delete": "webhook deleted",
  "webhook.rotate_secret": "webhook secret rotated",
  "webhook.test": "webhook tested",
  "webhook.redeliver": "webhook redelivered",
  "settings.update": "settings changed",
  "org.create": "organization created",
  "org.plan_change": "plan changed",
  "operator.get_key": "key read by an operator",
  "operator.list_keys": "keys listed by an operator",
  "operator.get_organization": "organization read by an operator",
};

/** The fields of ListAuditEventsRequest the form sets. */
export interface AuditFilters {
  keyId: string;
  action: string;
  actorUserId: string;
  occurredFrom?: Timestamp;
  occurredBefore?: Timestamp;
}

const DAY_MS = 86_400_000;

/** A `<input type="date">` value as the start of that UTC day, `days` later. */
function utcDay(value: string, days = 0): Timestamp | undefined {
  if (value === "") return undefined;
  const start = Date.parse(`${value}T00:00:00Z`);
  return Number.isNaN(start) ? undefined : timestampFromDate(new Date(start + days * DAY_MS));
}

export function auditFilterForm(directory: Directory, apply: (filters: AuditFilters) => void): HTMLFormElement {
  const action = select([["", "Any action"], ...Object.entries(ACTION_TEXT).map(([value, text]) => [value, `${text} (${value})`] as const)], "", { name: "action" });
  const actor = select([["", "Anyone"], ...directory.users.map((u) => [u.id, u.name] as const)], "", { name: "actorUserId" });
  const keyId = h("input", { type: "text", name: "keyId", autocomplete: "off", placeholder: "key_…" });
  const from = h("input", { type: "date", name: "from" });
  const to = h("input", { type: "date", name: "to" });
  // The "to" day is included: the request's bound is the start of the next day.
  const read = (): AuditFilters => {
    const occurredFrom = utcDay(from.value);
    const occurredBefore = utcDay(to.value, 1);
    return {
      keyId: keyId.value.trim(),
      action: action.value,
      actorUserId: actor.value,
      ...(occurredFrom && { occurredFrom }),
      ...(occurredBefore && { occurredBefore }),
    };
  };
  from.addEventListener("change", () => (to.min = from.value));
  const clear = h("button", { type: "button", class: "secondary" }, "Clear filters");
  const form = h(
    "form",
    { method: "post", class: "toolbar audit-filters", novalidate: true, "aria-label": "Filter the audit log" },
    field("Action", action),
    field("Done by", actor),
    field("Key id", keyId),
    field("From (UTC)", from),
    field("To (UTC)", to),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Filter"), clear),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(read());
  });
  clear.addEventListener("click", () => {
    form.reset();
    apply(read());
  });
  return form;
}
