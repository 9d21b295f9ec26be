import { api } from "../api.js";
import { field, h, stats, table } from "../dom.js";
import { utcMonth } from "../../../src/time/utc-days.js";
import { formatCount, formatMoney, sourceNote } from "../format.js";
import { heading, section, type PageContext } from "../ui.js";

/** Estimated cost per key for one billing month. */
export function renderBilling(ctx: PageContext): void {
  // Billing months are UTC months, like the usage days they add up.
  const thisMonth = utcMonth(Date.now());
  const month = h("input", { type: "month", name: "billingPeriod", value: thisMonth, max: thisMonth, required: true });
  const results = h("div");
  const load = () =>
    void section(
      results,
      async () => {
        const bill = await api.getBillingUsage({ billingPeriod: month.value }, { signal: ctx.signal });
        return h(
          "div",
          null,
          stats([bill.plan || "—", "plan"], [h("span", { "data-testid": "billing-total" }, formatMoney(bill.totalEstimatedCost)), "estimated in all"]),
          table(
            `Billing for ${bill.billingPeriod}`,
            ["Key", "Requests", "Data (MB)", "Estimated cost"],
            bill.keys.map((k) => [
              h("a", { href: `#/keys/${encodeURIComponent(k.keyId)}` }, k.name || k.keyId),
              formatCount(k.requests),
              k.dataTransferredMb.toFixed(2),
              formatMoney(k.estimatedCost),
            ]),
            ["No key made a request in this month. Choose another month above; ", h("a", { href: "#/usage" }, "Usage"), " says how requests start being counted."],
          ),
          h("p", { class: "hint" }, sourceNote(bill.source), " Prices come from keygate's configuration; the invoice is authoritative."),
        );
      },
      ctx.signal,
    );
  month.addEventListener("change", () => {
    if (month.value !== "") load();
  });
  ctx.main.replaceChildren(heading("Billing"), h("div", { class: "toolbar" }, field("Billing month", month)), results);
  load();
}
