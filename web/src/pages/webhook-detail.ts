import type { WebhookEndpoint } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { formatTime } from "../format.js";
import { errorBox, heading, notify, openDialog, revealSecret, showError, showMessage, type PageContext } from "../ui.js";
import { endpointChanges, endpointForm, eventTypesText } from "../webhook-form.js";
import { deliveriesPanel } from "./webhook-deliveries.js";
import { endpointState, signingSecretWarning } from "./webhooks.js";

/** One webhook endpoint: its settings, every change (edit, enable/disable, rotate, test, delete) and its deliveries. */

export function renderWebhookDetail(ctx: PageContext): void {
  const id = decodeURIComponent(ctx.params[0] ?? "");
  const problem = errorBox();
  const content = h("div");
  ctx.main.replaceChildren(h("p", null, h("a", { href: "#/webhooks" }, "← All endpoints")), problem, content);

  // ListWebhookEndpoints is the one read (an organization has a handful of endpoints).
  const reload = async (focusHeading = false) => {
    try {
      const { endpoints } = await api.listWebhookEndpoints({}, { signal: ctx.signal });
      if (ctx.signal.aborted) return;
      const endpoint = endpoints.find((e) => e.id === id);
      if (!endpoint) {
        content.replaceChildren();
        showMessage(problem, "That endpoint does not exist in your organization: it may have been deleted.");
        return;
      }
      replaceChildren(content, endpointView(endpoint, ctx, () => void reload()));
      if (focusHeading) content.querySelector("h1")?.focus();
    } catch (error) {
      if (!ctx.signal.aborted) showError(problem, error);
    }
  };
  void reload(true);
}

function endpointView(endpoint: WebhookEndpoint, ctx: PageContext, reload: () => void): HTMLElement {
  const deliveries = deliveriesPanel(endpoint.id, endpoint.enabled, ctx.signal);
  const act = (label: string, run: () => Promise<void>, cls = "secondary", disabled = false) =>
    h("button", { type: "button", class: cls, disabled, onclick: () => void run() }, label);
  const facts: [string, string | HTMLElement][] = [
    ["Id", h("code", null, endpoint.id)],
    ["Event types", eventTypesText(endpoint.eventTypes)],
    ["State", endpointState(endpoint)],
    ["Description", endpoint.description || "—"],
    ["Created", formatTime(endpoint.createdAt)],
    ["Updated", formatTime(endpoint.updatedAt)],
  ];
  return h(
    "div",
    null,
    heading(endpoint.url, endpointState(endpoint)),
    !endpoint.enabled &&
      h(
        "p",
        { class: "warning" },
        endpoint.disabledReason
          ? [h("strong", null, "keygate disabled this endpoint: "), endpoint.disabledReason, " Fix the receiver, then enable it again."]
          : "This endpoint is disabled: events that happen now are not sent to it, and tests and redeliveries wait until it is enabled again.",
      ),
    h(
      "div",
      { class: "actions endpoint-actions", role: "group", "aria-label": "Endpoint actions" },
      act("Edit", () => editEndpoint(endpoint, reload)),
      act(endpoint.enabled ? "Disable" : "Enable", () => (endpoint.enabled ? disableEndpoint(endpoint, reload) : enableEndpoint(endpoint, reload))),
      act("Send test", () => sendTest(endpoint, deliveries.refresh), "secondary", !endpoint.enabled),
      act("Rotate secret", () => rotateSecret(endpoint, reload)),
      act("Delete", () => deleteEndpoint(endpoint), "danger"),
    ),
    h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", null, term), h("dd", null, value)])),
    h("section", { class: "card" }, h("h2", null, "Recent deliveries"), deliveries.element),
  );
}

/** A failure of a one-click action, told in a dialog since there is no form to show it in. */
async function failed(title: string, error: unknown): Promise<void> {
  const problem = errorBox();
  showError(problem, error);
  if (!problem.hidden) await openDialog({ title, body: problem });
}

async function editEndpoint(endpoint: WebhookEndpoint, reload: () => void): Promise<void> {
  const form = endpointForm(endpoint);
  const saved = await openDialog({
    title: "Edit webhook endpoint",
    submitLabel: "Save changes",
    body: form.element,
    canSubmit: () => form.complete(),
    onSubmit: async () => {
      const changes = endpointChanges(endpoint, form.read());
      if (Object.keys(changes).length > 0) await api.updateWebhookEndpoint({ id: endpoint.id, ...changes });
    },
  });
  if (saved) {
    notify("Endpoint saved.");
    reload();
  }
}

async function disableEndpoint(endpoint: WebhookEndpoint, reload: () => void): Promise<void> {
  const done = await openDialog({
    title: "Disable this endpoint?",
    submitLabel: "Disable endpoint",
    danger: true,
    body: [
      h("p", null, "keygate stops sending events to ", h("code", null, endpoint.url), "."),
      h(
        "p",
        null,
        "Deliveries still waiting fail unsent, and events that happen while it is disabled are not sent to it later, even after you enable it again.",
      ),
    ],
    onSubmit: async () => {
      await api.updateWebhookEndpoint({ id: endpoint.id, enabled: false });
    },
  });
  if (done) {
    notify("Endpoint disabled.");
    reload();
  }
}

async function enableEndpoint(endpoint: WebhookEndpoint, reload: () => void): Promise<void> {
  try {
    await api.updateWebhookEndpoint({ id: endpoint.id, enabled: true });
    notify("Endpoint enabled.");
    reload();
  } catch (error) {
    await failed("Enable failed", error);
  }
}

async function sendTest(endpoint: WebhookEndpoint, refreshDeliveries: () => Promise<void>): Promise<void> {
  try {
    await api.sendTestWebhook({ id: endpoint.id });
    notify("Test event queued: it is listed under Recent deliveries.");
    await refreshDeliveries();
  } catch (error) {
    await failed("Send test failed", error);
  }
}

async function rotateSecret(endpoint: WebhookEndpoint, reload: () => void): Promise<void> {
  let secret = "";
  await openDialog({
    title: "Rotate the signing secret?",
    submitLabel: "Rotate secret",
    body: [
      h("p", null, "A new signing secret replaces the current one, and is shown once."),
      h(
        "p",
        null,
        "For 24 hours every delivery is signed with both the old and the new secret, so your receiver keeps verifying while you give it the new one. After that only the new secret signs.",
      ),
    ],
    onSubmit: async () => {
      secret = (await api.rotateWebhookSecret({ id: endpoint.id })).signingSecret;
    },
  });
  if (secret === "") return;
  await revealSecret("New signing secret", secret, signingSecretWarning(true));
  secret = "";
  notify("Signing secret rotated.");
  reload();
}

async function deleteEndpoint(endpoint: WebhookEndpoint): Promise<void> {
  const done = await openDialog({
    title: "Delete this endpoint?",
    submitLabel: "Delete endpoint",
    danger: true,
    body: [
      h("p", null, "keygate stops sending events to ", h("code", null, endpoint.url), " and drops its undelivered events."),
      h("p", null, "This cannot be undone: to pause deliveries instead, disable it."),
    ],
    onSubmit: async () => {
      await api.deleteWebhookEndpoint({ id: endpoint.id });
    },
  });
  if (done) {
    notify("Endpoint deleted.");
    location.hash = "#/webhooks";
  }
}
