import type { WebhookEndpoint } from "../../gen/keygate/v1/key_admin_pb.js";
import type { WebhookEventType } from "../../src/model/webhooks.js";
import { field, h } from "./dom.js";

/** The editable settings of a webhook endpoint, shared by the add and edit dialogs. */

export interface EndpointSettings {
  url: string;
  /** Empty: every type, including types keygate adds later. */
  eventTypes: string[];
  description: string;
}

/**
 * The types an endpoint may subscribe to, in words. `webhook.test` is not among them: a test
 * event goes to the endpoint it was sent to, whatever that endpoint subscribes to.
 */
export const EVENT_TYPE_TEXT: Readonly<Record<Exclude<WebhookEventType, "webhook.test">, string>> = {
  "key.created": "a key is created",
  "key.updated": "a key's settings change, or it is enabled or disabled",
  "key.rotated": "a key's secret is regenerated",
  "key.revoked": "a key is revoked",
  "key.deleted": "a key is deleted",
  "key.expiring": "a key expires soon (days before, as the organization's settings say)",
  "key.expired": "a key has expired",
  "key.leaked": "a key's secret was found in public (secret scanning)",
  "quota.threshold": "the monthly quota's use crosses a threshold",
  "rate_limit.exceeded": "a key hits its rate limit",
  "key.credits_low": "a key's (or its identity's) credits fall to the organization's low threshold",
  "user.removed": "a user is removed from the organization",
  "identity.created": "an identity (a customer) is created",
  "identity.updated": "an identity's settings, limits or credits change",
  "identity.deleted": "an identity is deleted",
};

export const eventTypesText = (types: readonly string[]): string => (types.length === 0 ? "all" : types.join(", "));

export interface EndpointForm {
  element: HTMLElement;
  read(): EndpointSettings;
  /** A URL is given and at least one event type (or all) is chosen. */
  complete(): boolean;
}

export function endpointForm(endpoint?: WebhookEndpoint): EndpointForm {
  const url = h("input", {
    type: "url",
    name: "url",
    required: true,
    maxlength: 2048,
    inputmode: "url",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "https://example.com/webhooks/keygate",
    value: endpoint?.url ?? "",
  });
  const description = h("textarea", { name: "description", rows: 2, maxlength: 1000 }, endpoint?.description ?? "");
  const chosen = new Set(endpoint?.eventTypes ?? []);
  const all = h("input", { type: "checkbox", name: "allEvents", checked: chosen.size === 0 });
  const boxes = Object.entries(EVENT_TYPE_TEXT).map(([type, text]) => {
    const box = h("input", { type: "checkbox", name: "eventType", value: type, checked: chosen.has(type) });
    return { box, label: h("label", { class: "check" }, box, h("code", null, type), h("span", { class: "hint" }, ` ${text}`)) };
  });
  // With "all" chosen the single types say nothing, so they are off and out of the tab order.
  const sync = () => {
    for (const { box } of boxes) box.disabled = all.checked;
  };
  all.addEventListener("change", sync);
  sync();

  const element = h(
    "div",
    { class: "endpoint-form" },
    field("Endpoint URL", url, "Where keygate POSTs each event: https:// on a public address."),
    h(
      "fieldset",
      { class: "scopes event-types" },
      h("legend", null, "Event types"),
      h("label", { class: "check all-events" }, all, h("strong", null, "All event types"), h("span", { class: "hint" }, " including types added later")),
      boxes.map(({ label }) => label),
    ),
    field("Description", description, "Optional: what receives these events, for your team."),
  );
  const read = (): EndpointSettings => ({
    url: url.value.trim(),
    eventTypes: all.checked ? [] : boxes.filter(({ box }) => box.checked).map(({ box }) => box.value),
    description: description.value.trim(),
  });
  return {
    element,
    read,
    complete: () => url.value.trim() !== "" && (all.checked || boxes.some(({ box }) => box.checked)),
  };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((type) => b.includes(type));

/** The UpdateWebhookEndpoint fields that differ from the endpoint: only those are sent. */
export function endpointChanges(endpoint: WebhookEndpoint, next: EndpointSettings) {
  return {
    ...(next.url !== endpoint.url && { url: next.url }),
    ...(!sameSet(next.eventTypes, endpoint.eventTypes) && { eventTypes: next.eventTypes, setEventTypes: true }),
    ...(next.description !== endpoint.description && { description: next.description }),
  };
}
