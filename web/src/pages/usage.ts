import { UsagePeriod, UsageSource } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { dailyChart, gauge } from "../charts.js";
import { field, h, select, stats, table } from "../dom.js";
import { USAGE_PERIODS, formatCount, formatGrowth, formatResponseTime, sourceNote } from "../format.js";
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

/** Envoy's reference for the gRPC access logger that sends keygate each response's status and duration. */
const ACCESS_LOG_DOCS = "https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/access_loggers/grpc/v3/als.proto";

/** Why there is no average response time, and how to get one. */
function noResponseTimes(source: UsageSource): HTMLElement {
  return h(
    "p",
    { class: "hint", "data-testid": "no-response-times" },
    source === UsageSource.ACCESS_LOG ? "No response durations in the access log yet. " : "No access-log data, so no response times: ",
    h("a", { href: ACCESS_LOG_DOCS, target: "_blank", rel: "noopener noreferrer" }, "configure Envoy's access-log service"),
    " to send keygate each response's status and duration (keygate's docs/usage.md, section “Envoy”, has the configuration).",
  );
}

/** What to do when nothing was counted in the period. */
function noRequests(period: UsagePeriod): HTMLElement {
  return h(
    "div",
    { class: "empty-state", "data-testid": "usage-empty" },
    h("p", null, h("strong", null, "No requests in this period."), " Requests are counted as Envoy asks keygate to check them."),
    h(
      "ol",
      null,
      h("li", null, h("a", { href: "#/keys" }, "Create a key"), " and give its secret to a client."),
      h("li", null, "Call your API through Envoy with ", h("code", null, "Authorization: Bearer <secret>"), "."),
      h("li", null, "Counts appear here within seconds; this page updates by itself."),
    ),
    period !== UsagePeriod.MONTH && h("p", { class: "hint" }, "Older requests? Choose a longer period above."),
  );
}

async function summaryView(period: UsagePeriod, signal: AbortSignal): Promise<HTMLElement> {
  const s = await api.getAnalyticsSummary({ period }, { signal });
  if (s.totalRequests === 0n) return noRequests(period);
  const fromNothing = s.previousTotalRequests === 0n;
  return h(
    "div",
    null,
    stats(
      [formatCount(s.totalRequests), "requests"],
      [
        h("span", { "data-testid": "growth" }, formatGrowth(s.growthPercent, s.previousTotalRequests, s.totalRequests)),
        fromNothing ? "none in the previous period" : "against the previous period",
      ],
      [`${s.errorRatePercent.toFixed(1)}%`, "errors"],
      [h("span", { "data-testid": "avg-response" }, formatResponseTime(s.avgResponseTimeMs)), "average response"],
      !!s.mostActiveKey?.keyId && [
        h("a", { href: `#/keys/${encodeURIComponent(s.mostActiveKey.keyId)}` }, s.mostActiveKey.name || s.mostActiveKey.keyId),
        `most active, ${formatCount(s.mostActiveKey.requests)} requests`,
      ],
    ),
    s.avgResponseTimeMs === 0 && noResponseTimes(s.source),
    dailyChart(
      "Requests and errors per day",
      s.trends.map((d) => ({ date: d.date, requests: Number(d.requests), errors: Number(d.errors) })),
    ),
    h("p", { class: "hint" }, sourceNote(s.source)),
  );
}

async function organizationView(period: UsagePeriod, signal: AbortSignal): Promise<HTMLElement> {
  const o = await api.getOrganizationUsage({ period }, { signal });
  if (o.totalRequests === 0n) {
    return h(
      "p",
      { class: "empty-state" },
      `No key made a request in this period (${formatCount(o.totalKeys)} keys in all). The busiest keys and endpoints show here once keys are used.`,
    );
  }
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
      "No request paths recorded in this period.",
    ),
  );
}
