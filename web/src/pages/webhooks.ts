import type { WebhookEndpoint } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { h, replaceChildren, table, type Child } from "../dom.js";
import { formatTime } from "../format.js";
import { clearError, errorBox, heading, notify, openDialog, revealSecret, showError, type PageContext } from "../ui.js";
import { endpointForm, eventTypesText } from "../webhook-form.js";

/** The organization's webhook endpoints, and the dialog that adds one and shows its signing secret once. */

export function endpointState(endpoint: WebhookEndpoint): HTMLElement {
  return endpoint.enabled ? h("span", { class: "badge active" }, "enabled") : h("span", { class: "badge disabled" }, "disabled");
}

/** Why keygate disabled an endpoint, where it did (a caller's disable has no reason). */
export function disabledReason(endpoint: WebhookEndpoint): Child {
  return !endpoint.enabled && endpoint.disabledReason !== "" && h("small", { class: "hint reason-text" }, endpoint.disabledReason);
}

/**
 * What the one view of a signing secret says. `rotated`: the old secret still signs for 24 hours,
 * so the receiver can take the new one without refusing a delivery.
 */
export function signingSecretWarning(rotated: boolean): Child {
  return [
    h("strong", null, "Copy this signing secret now: you will not see it again. "),
    "Your receiver needs it to verify each delivery's webhook-signature header. ",
    rotated
      ? "For the next 24 hours every delivery is signed with both the old and the new secret: give the new one to your receiver within that time."
      : "Store it in a secret manager; if it is lost, rotate it.",
  ];
}

export function renderWebhooks(ctx: PageContext): void {
  const problem = errorBox();
  const body = h("div", { "aria-live": "polite" });

  const load = async () => {
    clearError(problem);
    body.setAttribute("aria-busy", "true");
    try {
      const { endpoints } = await api.listWebhookEndpoints({}, { signal: ctx.signal });
      if (ctx.signal.aborted) return;
      replaceChildren(
        body,
        table(
          "Webhook endpoints",
          ["Endpoint", "Event types", "State", "Created"],
          endpoints.map((endpoint) => [
            [
              h("a", { href: `#/webhooks/${encodeURIComponent(endpoint.id)}`, class: "endpoint-url" }, endpoint.url),
              endpoint.description && h("small", { class: "hint block" }, endpoint.description),
            ],
            eventTypesText(endpoint.eventTypes),
            [endpointState(endpoint), disabledReason(endpoint)],
            formatTime(endpoint.createdAt),
          ]),
          [
            h("p", null, "No endpoints yet: add one to be told when keys are created, rotated, revoked, leaked or about to expire."),
            h("button", { type: "button", class: "primary", onclick: () => void addEndpoint(load) }, "Add your first endpoint"),
          ],
          { cards: true },
        ),
      );
    } catch (error) {
      if (!ctx.signal.aborted) showError(problem, error);
    } finally {
      body.removeAttribute("aria-busy");
    }
  };

  const add = h("button", { type: "button", class: "primary", onclick: () => void addEndpoint(load) }, "Add endpoint");
  ctx.main.replaceChildren(
    heading("Webhooks", add),
    h(
      "p",
      null,
      "keygate POSTs a signed JSON event to each endpoint when something happens to your keys, and retries with backoff until it answers 2xx. ",
      "Open an endpoint to see its deliveries, send a test event or rotate its signing secret.",
    ),
    problem,
    body,
  );
  void load();
}

async function addEndpoint(reload: () => Promise<void>): Promise<void> {
  const form = endpointForm();
  let secret = "";
  await openDialog({
    title: "Add webhook endpoint",
    submitLabel: "Add endpoint",
    body: form.element,
    canSubmit: () => form.complete(),
    onSubmit: async () => {
      secret = (await api.createWebhookEndpoint(form.read())).signingSecret;
    },
  });
  if (secret === "") return;
  await revealSecret("Endpoint added: its signing secret", secret, signingSecretWarning(false));
  secret = "";
  notify("Endpoint added.");
  await reload();
}
