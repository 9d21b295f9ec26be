import { WebhookDeliveryStatus, type WebhookDelivery } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { h, replaceChildren, table } from "../dom.js";
import { formatTime } from "../format.js";
import { clearError, errorBox, notify, showError } from "../ui.js";

/** One endpoint's deliveries, newest first, a page at a time, each with a Redeliver button. */

const PAGE_SIZE = 20;

const STATUS: Record<WebhookDeliveryStatus, readonly [label: string, badge: string]> = {
  [WebhookDeliveryStatus.UNSPECIFIED]: ["unknown", ""],
  [WebhookDeliveryStatus.PENDING]: ["pending", "pending"],
  [WebhookDeliveryStatus.DELIVERED]: ["delivered", "delivered"],
  [WebhookDeliveryStatus.FAILED]: ["failed", "failed"],
};

export interface DeliveriesPanel {
  element: HTMLElement;
  /** Shows the first page again (where a new delivery appears). */
  refresh(): Promise<void>;
}

/** `sendable`: the endpoint is enabled (keygate queues nothing for a disabled one, redeliveries included). */
export function deliveriesPanel(endpointId: string, sendable: boolean, signal: AbortSignal): DeliveriesPanel {
  const problem = errorBox();
  const body = h("div", { "aria-live": "polite" });
  const pageLabel = h("span", { class: "page-no" });
  const previous = h("button", { type: "button", class: "secondary" }, "Newer");
  const next = h("button", { type: "button", class: "secondary" }, "Older");
  const refreshButton = h("button", { type: "button", class: "secondary" }, "Refresh");
  // Tokens of the pages shown so far: the last is the page on screen.
  let tokens = [""];
  let nextToken = "";

  const redeliver = async (delivery: WebhookDelivery, button: HTMLButtonElement) => {
    button.disabled = true;
    clearError(problem);
    try {
      await api.redeliverWebhook({ deliveryId: delivery.id }, { signal });
      notify(`${delivery.eventType} queued again, with the same webhook-id.`);
      await refresh();
    } catch (error) {
      button.disabled = false;
      if (!signal.aborted) showError(problem, error);
    }
  };

  const row = (delivery: WebhookDelivery) => {
    const [label, badge] = STATUS[delivery.status];
    const button = h("button", { type: "button", class: "secondary small", disabled: !sendable }, "Redeliver", h("span", { class: "visually-hidden" }, ` ${delivery.eventType} ${delivery.id}`));
    button.addEventListener("click", () => void redeliver(delivery, button));
    return [
      [h("code", null, delivery.eventType), h("small", { class: "hint block" }, "webhook-id ", h("code", { class: "event-id" }, delivery.eventId))],
      h("span", { class: `badge ${badge}` }, label),
      String(delivery.attempt),
      delivery.responseCode > 0 ? String(delivery.responseCode) : delivery.attempt > 0 ? "no answer" : "—",
      delivery.lastError ? h("span", { class: "last-error" }, delivery.lastError) : "—",
      formatTime(delivery.createdAt),
      delivery.status === WebhookDeliveryStatus.PENDING ? formatTime(delivery.nextAttemptAt) : "—",
      button,
    ];
  };

  const load = async () => {
    clearError(problem);
    body.setAttribute("aria-busy", "true");
    try {
      const page = await api.listWebhookDeliveries({ endpointId, pageSize: PAGE_SIZE, pageToken: tokens[tokens.length - 1]! }, { signal });
      if (signal.aborted) return;
      nextToken = page.nextPageToken;
      replaceChildren(
        body,
        table(
          "Deliveries, newest first",
          ["Event", "Status", "Attempts", "Response", "Last error", "Created", "Next attempt", "Action"],
          page.deliveries.map(row),
          tokens.length === 1 ? "No deliveries yet. Press “Send test” above to check that your receiver gets and verifies them." : "No older deliveries.",
        ),
      );
      pageLabel.textContent = `Page ${tokens.length}`;
      previous.disabled = tokens.length === 1;
      next.disabled = nextToken === "";
    } catch (error) {
      if (!signal.aborted) showError(problem, error);
    } finally {
      body.removeAttribute("aria-busy");
    }
  };
  const refresh = () => {
    tokens = [""];
    return load();
  };

  previous.addEventListener("click", () => {
    tokens.pop();
    void load();
  });
  next.addEventListener("click", () => {
    tokens.push(nextToken);
    void load();
  });
  refreshButton.addEventListener("click", () => void load());
  void load();
  return {
    element: h(
      "div",
      { class: "deliveries" },
      problem,
      body,
      h("nav", { class: "pager", "aria-label": "Delivery pages" }, previous, pageLabel, next, refreshButton),
    ),
    refresh,
  };
}
