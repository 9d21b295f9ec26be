import { UsagePeriod } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { dailyChart, gauge } from "../charts.js";
import { field, h, select, stats, table } from "../dom.js";
import { USAGE_PERIODS, formatCount, sourceNote } from "../format.js";
import { livePanel } from "../live.js";
import { heading, section, type PageContext } from "../ui.js";

/** The organization's usage: quota, summary and trends, keys and endpoints, live counters. */
export function renderUsage(ctx: PageContext): void {
  const period = select(USAGE_PERIODS, String(UsagePeriod.WEEK), { name: "period" });
  const quota = h("section", { class: "card", "aria-labelledby": "quota-title" });
  const summary = h("div");
  const organization = h("div");
  const load = () => {
    const p = Number(period.value) as UsagePeriod;
    void section(summary, () => summaryView(p, ctx.signal), ctx.signal);
    void section(organization, () => organizationView(p, ctx.signal), ctx.signal);
  };
  period.addEventListener("change", load);
  const quotaBody = h("div");
  quota.append(h("h2", { id: "quota-title" }, "Quota"), quotaBody);
  const loadQuota = () => void section(quotaBody, () => quotaView(ctx.signal), ctx.signal);
  loadQuota();
  ctx.main.replaceChildren(
    heading("Usage"),
    quota,
    livePanel("", ctx.signal, () => {
      loadQuota();
      load();
    }),
    h("div", { class: "toolbar" }, field("Period", period)),
    h("section", { class: "card" }, h("h2", null, "Summary"), summary),
    h("section", { class: "card" }, h("h2", null, "Keys and endpoints"), organization),
  );
  load();
}

async function quotaView(signal: AbortSignal): Promise<HTMLElement> {
  const status = await api.getQuotaStatus({}, { signal });
  const q = status.quota;
  const r = status.rateLimits;
  const alertAt = Math.min(...status.alerts.map((a) => a.thresholdPercent), 80);
  const ratePercent = r && r.requestsPerMinute > 0n ? (Number(r.currentUsage) / Number(r.requestsPerMinute)) * 100 : 0;
  return h(
    "div",
    null,
    h("p", null, "Plan ", h("strong", null, status.plan || "—")),
    status.alerts.length > 0 &&
      h(
        "ul",
        { class: "alerts", role: "alert" },
        status.alerts.map((a) => h("li", null, h("strong", null, `${a.thresholdPercent}% `), a.message || a.kind)),
      ),
    h(
      "div",
      { class: "gauges" },
      q &&
        gauge(
          "Monthly requests",
          q.percentUsed,
          `${formatCount(q.used)} of ${formatCount(q.requestsPerMonth)} used, ${formatCount(q.remaining)} left`,
          alertAt,
        ),
      r && gauge("Requests this minute", ratePercent, `${formatCount(r.currentUsage)} of ${formatCount(r.requestsPerMinute)} per minute`, alertAt),
    ),
  );
}

async function summaryView(period: UsagePeriod, signal: AbortSignal): Promise<HTMLElement> {
  const s = await api.getAnalyticsSummary({ period }, { signal });
  const growth = `${s.growthPercent >= 0 ? "+" : ""}${s.growthPercent.toFixed(1)}%`;
  return h(
    "div",
    null,
    stats(
      [formatCount(s.totalRequests), "requests"],
      [growth, "against the previous period"],
      [`${s.errorRatePercent.toFixed(1)}%`, "errors"],
      [`${s.avgResponseTimeMs.toFixed(1)} ms`, "average response"],
      !!s.mostActiveKey?.keyId && [
        h("a", { href: `#/keys/${encodeURIComponent(s.mostActiveKey.keyId)}` }, s.mostActiveKey.name || s.mostActiveKey.keyId),
        `most active, ${formatCount(s.mostActiveKey.requests)} requests`,
      ],
    ),
    dailyChart(
      "Requests and errors per day",
      s.trends.map((d) => ({ date: d.date, requests: Number(d.requests), errors: Number(d.errors) })),
    ),
    h("p", { class: "hint" }, sourceNote(s.source)),
  );
}

async function organizationView(period: UsagePeriod, signal: AbortSignal): Promise<HTMLElement> {
  const o = await api.getOrganizationUsage({ period }, { signal });
  return h(
    "div",
    null,
    stats(
      [formatCount(o.totalRequests), "requests"],
      [formatCount(o.activeKeys), `active of ${formatCount(o.totalKeys)} keys`],
    ),
    table(
      "Requests by key",
      ["Key", "Requests"],
      o.requestsByKey.map((k) => [h("a", { href: `#/keys/${encodeURIComponent(k.keyId)}` }, k.name || k.keyId), formatCount(k.requests)]),
      "No requests in this period.",
    ),
    table(
      "Top endpoints",
      ["Method", "Path", "Requests"],
      o.topEndpoints.map((e) => [e.method, h("code", null, e.path), formatCount(e.count)]),
      "No requests in this period.",
    ),
  );
}
