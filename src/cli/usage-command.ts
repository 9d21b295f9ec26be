import {
  GetAnalyticsSummaryResponseSchema,
  GetBillingUsageResponseSchema,
  GetKeyUsageResponseSchema,
  GetOrganizationUsageResponseSchema,
  GetQuotaStatusResponseSchema,
  UsageSource,
  type DailyRequests,
  type EndpointUsage,
  type Money,
} from "../../gen/keygate/v1/key_admin_pb.js";
import { formatGrowth, formatResponseTime } from "../model/usage-figures.js";
import * as parse from "./arguments.js";
import type { CommandIo } from "./command.js";
import { count, printFields, printTable } from "./output.js";
import { commandGroup, type RunContext, type Subcommand } from "./remote.js";

/** keygate usage …: usage, billing and quota of the organization or one key. */

const PERIOD_OPTION = { period: { type: "string" } } as const;
const PERIOD_HELP = "  --period PERIOD        day (today), week (last 7 days, default) or month (last 30 days)";
const period = (ctx: RunContext) => parse.usagePeriod((ctx.values["period"] as string | undefined) ?? "week");

const SOURCE: Record<UsageSource, string> = {
  [UsageSource.UNSPECIFIED]: "-",
  [UsageSource.CHECK_DECISIONS]: "Check decisions (allowed / denied)",
  [UsageSource.ACCESS_LOG]: "Envoy access log (upstream status)",
};

/** The average response time, or "—" and what would give one: durations come only from Envoy's access log. */
function responseTime(ms: number, source: UsageSource): string {
  if (ms > 0) return formatResponseTime(ms);
  return source === UsageSource.ACCESS_LOG
    ? "— (no response durations in the access log yet)"
    : "— (no access-log data: point Envoy's gRPC access log service at keygate, see docs/usage.md)";
}

function money(value: Money | undefined): string {
  if (!value || value.currencyCode === "") return "-";
  const digits = new Intl.NumberFormat("en", { style: "currency", currency: value.currencyCode }).resolvedOptions().maximumFractionDigits ?? 2;
  return `${(Number(value.minorUnits) / 10 ** digits).toFixed(digits)} ${value.currencyCode}`;
}

function days(io: CommandIo, rows: readonly DailyRequests[]): void {
  io.out("\n");
  printTable(io, ["DAY", "REQUESTS", "ERRORS"], rows.map((d) => [d.date, count(d.requests), count(d.errors)]), "No days.");
}

function endpoints(io: CommandIo, rows: readonly EndpointUsage[]): void {
  io.out("\n");
  printTable(io, ["METHOD", "PATH", "REQUESTS"], rows.map((e) => [e.method, e.path, count(e.count)]), "No requests.");
}

const key: Subcommand = {
  summary: "one key's requests by day and endpoint",
  help: `Usage: keygate usage key KEY_ID [--period PERIOD]

Options:
${PERIOD_HELP}`,
  options: PERIOD_OPTION,
  positionals: [1, 1],
  async run(ctx) {
    const usage = await ctx.client().getKeyUsage({ id: ctx.positionals[0]!, period: period(ctx) });
    return ctx.respond(GetKeyUsageResponseSchema, usage, () => {
      printFields(ctx.io, [
        ["key", usage.keyId],
        ["requests", count(usage.totalRequests)],
        ["successful", count(usage.successfulRequests)],
        ["failed", count(usage.failedRequests)],
        ["rate limited", count(usage.rateLimitedRequests)],
        ["source", SOURCE[usage.source]],
      ]);
      days(ctx.io, usage.dailyBreakdown);
      endpoints(ctx.io, usage.endpoints);
    });
  },
};

const org: Subcommand = {
  summary: "the organization's requests by key and top endpoints",
  help: `Usage: keygate usage org [--period PERIOD]

Options:
${PERIOD_HELP}`,
  options: PERIOD_OPTION,
  async run(ctx) {
    const usage = await ctx.client().getOrganizationUsage({ period: period(ctx) });
    return ctx.respond(GetOrganizationUsageResponseSchema, usage, () => {
      printFields(ctx.io, [
        ["organization", usage.organizationId],
        ["requests", count(usage.totalRequests)],
        ["keys", `${usage.activeKeys} active of ${usage.totalKeys}`],
        ["source", SOURCE[usage.source]],
      ]);
      ctx.io.out("\n");
      printTable(ctx.io, ["KEY", "NAME", "REQUESTS"], usage.requestsByKey.map((k) => [k.keyId, k.name, count(k.requests)]), "No requests.");
      endpoints(ctx.io, usage.topEndpoints);
    });
  },
};

const billing: Subcommand = {
  summary: "estimated cost per key for a month",
  help: `Usage: keygate usage billing [--month YYYY-MM]

Options:
  --month YYYY-MM        the billing month (default: this month, UTC)`,
  options: { month: { type: "string" } },
  async run(ctx) {
    const bill = await ctx.client().getBillingUsage({ billingPeriod: parse.month(ctx.values["month"] as string | undefined) });
    return ctx.respond(GetBillingUsageResponseSchema, bill, () => {
      printFields(ctx.io, [
        ["month", bill.billingPeriod],
        ["plan", bill.plan],
        ["estimated total", money(bill.totalEstimatedCost)],
        ["source", SOURCE[bill.source]],
      ]);
      ctx.io.out("\n");
      printTable(
        ctx.io,
        ["KEY", "NAME", "REQUESTS", "DATA MB", "ESTIMATED COST"],
        bill.keys.map((k) => [k.keyId, k.name, count(k.requests), k.dataTransferredMb.toFixed(2), money(k.estimatedCost)]),
        "No usage this month.",
      );
    });
  },
};

const summary: Subcommand = {
  summary: "totals, growth, error rate and daily trends",
  help: `Usage: keygate usage summary [--period PERIOD]

Options:
${PERIOD_HELP}`,
  options: PERIOD_OPTION,
  async run(ctx) {
    const s = await ctx.client().getAnalyticsSummary({ period: period(ctx) });
    return ctx.respond(GetAnalyticsSummaryResponseSchema, s, () => {
      printFields(ctx.io, [
        ["requests", count(s.totalRequests)],
        ["growth", formatGrowth(s.growthPercent, s.previousTotalRequests, s.totalRequests)],
        ["error rate", `${s.errorRatePercent.toFixed(1)}%`],
        ["avg response", responseTime(s.avgResponseTimeMs, s.source)],
        ["most active", s.mostActiveKey?.keyId ? `${s.mostActiveKey.keyId} (${s.mostActiveKey.name}, ${count(s.mostActiveKey.requests)})` : "-"],
        ["source", SOURCE[s.source]],
      ]);
      days(ctx.io, s.trends);
    });
  },
};

const quota: Subcommand = {
  summary: "monthly quota, rate limit use and alerts",
  help: `Usage: keygate usage quota

Shows the plan's monthly quota and per-minute rate in use, and the alerts past their thresholds.`,
  async run(ctx) {
    const q = await ctx.client().getQuotaStatus({});
    return ctx.respond(GetQuotaStatusResponseSchema, q, () => {
      printFields(ctx.io, [
        ["plan", q.plan],
        ["monthly quota", q.quota ? `${count(q.quota.used)} of ${count(q.quota.requestsPerMonth)} used (${q.quota.percentUsed.toFixed(1)}%), ${count(q.quota.remaining)} left` : "-"],
        ["this minute", q.rateLimits ? `${count(q.rateLimits.currentUsage)} of ${count(q.rateLimits.requestsPerMinute)} requests` : "-"],
      ]);
      ctx.io.out("\n");
      printTable(ctx.io, ["ALERT", "KIND", "MESSAGE"], q.alerts.map((a) => [`${a.thresholdPercent}%`, a.kind, a.message]), "No alerts.");
    });
  },
};

export const usageCommand = commandGroup("usage", "Usage, billing and quota of the admin key's organization on a running keygate.", {
  key,
  org,
  billing,
  summary,
  quota,
});
