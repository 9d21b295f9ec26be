import type { UsageSource } from "../../gen/keygate/v1/key_admin_pb.js";
import { dailyChart } from "./charts.js";
import { h, stats } from "./dom.js";
import { formatCount, sourceNote } from "./format.js";

/** What GetKeyUsage and GetIdentityUsage both answer: the totals and the days. */
export interface UsageTotals {
  totalRequests: bigint;
  successfulRequests: bigint;
  failedRequests: bigint;
  rateLimitedRequests: bigint;
  source: UsageSource;
  dailyBreakdown: readonly { date: string; requests: bigint; errors: bigint }[];
}

/** The totals, where they come from, and the daily chart: the head of a key's and an identity's usage section. */
export function usageFigures(usage: UsageTotals): HTMLElement[] {
  return [
    stats(
      [formatCount(usage.totalRequests), "requests"],
      [formatCount(usage.successfulRequests), "successful"],
      [formatCount(usage.failedRequests), "failed"],
      [formatCount(usage.rateLimitedRequests), "rate limited"],
    ),
    h("p", { class: "hint" }, sourceNote(usage.source)),
    dailyChart(
      "Requests per day",
      usage.dailyBreakdown.map((d) => ({ date: d.date, requests: Number(d.requests), errors: Number(d.errors) })),
    ),
  ];
}
