import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  DailyRequestsSchema,
  GetAnalyticsSummaryResponseSchema,
  GetBillingUsageResponseSchema,
  GetKeyUsageResponseSchema,
  GetOrganizationUsageResponseSchema,
  GetQuotaStatusResponseSchema,
  KeyRequestsSchema,
  QuotaAlertSchema,
  UsagePeriod,
  UsageSource,
  type DailyRequests,
  type KeyAdminService,
  type KeyRequests,
  type QuotaAlert,
} from "../../../gen/keygate/v1/key_admin_pb.js";
import { callerOf } from "../caller.js";
import { fieldError, keyNotFound } from "../errors.js";
import { requiredId } from "../validation.js";
import type { CheckLimits } from "../../limits/check-limits.js";
import type { Store } from "../../store/store.js";
import type { Clock } from "../../time/clock.js";
import { billingMonth, estimatedCost } from "./billing.js";
import {
  avgResponseTimeMs,
  endpointsOf,
  errorRatePercent,
  figuresByDay,
  figuresByKey,
  figuresOf,
  megabytes,
  percentOf,
  round2,
  type UsageFigures,
} from "../../usage/usage-figures.js";
import type { UsageAggregator } from "../../usage/usage-recorder.js";
import type { KeyDayUsage } from "../../model/usage-tally.js";
import { lastDays, monthOf, previousRange, utcDay, type DayRange } from "../../time/utc-days.js";
import type { UsageWatchers } from "./usage-watchers.js";
import { watchUsage } from "./watch-usage.js";

/**
 * The usage RPCs of KeyAdminService, answered from the stored per-key-per-day usage (as of the
 * last flush, by default at most a second old) within the caller's organization. A key of another
 * organization is not found, like a missing one.
 */

export type UsageHandlers = Pick<
  ServiceImpl<typeof KeyAdminService>,
  "getKeyUsage" | "getOrganizationUsage" | "getBillingUsage" | "getAnalyticsSummary" | "getQuotaStatus" | "watchUsage"
>;

export interface UsageServiceDeps {
  store: Pick<Store, "keys" | "usage">;
  recorder: Pick<UsageAggregator, "unflushedAllowed" | "onFlushed">;
  limits: Pick<CheckLimits, "peekOrganization">;
  clock: Clock;
  /** Percentages at which GetQuotaStatus raises alerts, ascending. */
  alertThresholds: readonly number[];
  /** WatchUsage sends a snapshot at least this often; 0: only when usage is recorded. */
  watchHeartbeatMs: number;
  /** Aborted at shutdown: WatchUsage streams end. */
  stopping: AbortSignal;
  /** The open WatchUsage streams: caps and shared reads. */
  watchers: UsageWatchers;
}

const PERIOD_DAYS: ReadonlyMap<UsagePeriod, number> = new Map([
  [UsagePeriod.DAY, 1],
  [UsagePeriod.WEEK, 7],
  [UsagePeriod.MONTH, 30],
]);

const TOP_ENDPOINTS = 10;

/** The UTC days a period covers, today included; invalid_argument naming `period` otherwise. */
export function periodRange(period: UsagePeriod, nowMs: number): DayRange {
  const length = PERIOD_DAYS.get(period);
  if (length === undefined) throw fieldError("period", "must be USAGE_PERIOD_DAY, USAGE_PERIOD_WEEK or USAGE_PERIOD_MONTH");
  return lastDays(utcDay(nowMs), length);
}

const sourceOf = (figures: UsageFigures): UsageSource => (figures.fromAccessLog ? UsageSource.ACCESS_LOG : UsageSource.CHECK_DECISIONS);

/** Requests and errors for every day of the range, days without usage included. */
export function dailyRequests(days: readonly KeyDayUsage[], range: DayRange): DailyRequests[] {
  return figuresByDay(days, range).map(({ day, figures }) =>
    create(DailyRequestsSchema, { date: day, requests: BigInt(figures.requests), errors: BigInt(figures.failed) }),
  );
}

/** Requests per key, most first (ties by key id), named from the store; deleted keys have no name. */
async function requestsByKey(store: UsageServiceDeps["store"], organizationId: string, days: readonly KeyDayUsage[]): Promise<KeyRequests[]> {
  const ranked = [...figuresByKey(days)].filter(([, f]) => f.requests > 0).sort(([, a], [, b]) => b.requests - a.requests);
  const names = await keyNames(store, organizationId, ranked.map(([keyId]) => keyId));
  return ranked.map(([keyId, figures]) =>
    create(KeyRequestsSchema, { keyId, name: names.get(keyId) ?? "", requests: BigInt(figures.requests) }),
  );
}

const NAME_LOOKUPS_AT_ONCE = 32;

async function keyNames(store: UsageServiceDeps["store"], organizationId: string, keyIds: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (let i = 0; i < keyIds.length; i += NAME_LOOKUPS_AT_ONCE) {
    const keys = await Promise.all(keyIds.slice(i, i + NAME_LOOKUPS_AT_ONCE).map((id) => store.keys.findById(organizationId, id)));
    for (const key of keys) if (key) names.set(key.id, key.name);
  }
  return names;
}

function alert(kind: "monthly_quota" | "rate_limit", threshold: number, used: number, limit: number, what: string): QuotaAlert {
  return create(QuotaAlertSchema, {
    thresholdPercent: threshold,
    kind,
    message: `${what}: ${used} of ${limit} used (${percentOf(used, limit)}%), at or above the ${threshold}% alert threshold`,
  });
}

export function usageHandlers(deps: UsageServiceDeps): UsageHandlers {
  const { store, clock } = deps;

  return {
    async getKeyUsage(req, ctx) {
      const organizationId = callerOf(ctx).organization.id;
      const id = requiredId(req.id);
      const range = periodRange(req.period, clock.now());
      const key = await store.keys.findById(organizationId, id);
      if (!key) throw keyNotFound(id);
      const days = await store.usage.days(organizationId, range, { keyIds: [key.id] });
      const figures = figuresOf(days);
      return create(GetKeyUsageResponseSchema, {
        keyId: key.id,
        period: req.period,
        totalRequests: BigInt(figures.requests),
        successfulRequests: BigInt(figures.successful),
        failedRequests: BigInt(figures.failed),
        rateLimitedRequests: BigInt(figures.throttled),
        endpoints: endpointsOf(days.map((d) => d.tally)),
        dailyBreakdown: dailyRequests(days, range),
        source: sourceOf(figures),
      });
    },

    async getOrganizationUsage(req, ctx) {
      const organizationId = callerOf(ctx).organization.id;
      const range = periodRange(req.period, clock.now());
      const [keys, days] = await Promise.all([store.keys.countByState(organizationId), store.usage.days(organizationId, range)]);
      const figures = figuresOf(days);
      return create(GetOrganizationUsageResponseSchema, {
        organizationId,
        period: req.period,
        totalKeys: keys.total,
        activeKeys: keys.active,
        totalRequests: BigInt(figures.requests),
        requestsByKey: await requestsByKey(store, organizationId, days),
        topEndpoints: endpointsOf(days.map((d) => d.tally), TOP_ENDPOINTS),
        source: sourceOf(figures),
      });
    },

    async getBillingUsage(req, ctx) {
      const { organization, plan } = callerOf(ctx);
      const month = billingMonth(req.billingPeriod, clock.now());
      const days = await store.usage.days(organization.id, month, { withEndpoints: false });
      const byKey = figuresByKey(days);
      const names = await keyNames(store, organization.id, [...byKey.keys()]);
      let total = 0n;
      const keys = [...byKey].map(([keyId, figures]) => {
        const cost = estimatedCost(figures.allowed, figures.transferredBytes, plan);
        total += cost;
        return {
          keyId,
          name: names.get(keyId) ?? "",
          requests: BigInt(figures.allowed),
          dataTransferredMb: megabytes(figures.transferredBytes),
          estimatedCost: { currencyCode: plan.currency, minorUnits: cost },
        };
      });
      return create(GetBillingUsageResponseSchema, {
        billingPeriod: req.billingPeriod,
        plan: plan.name,
        keys,
        totalEstimatedCost: { currencyCode: plan.currency, minorUnits: total },
        source: sourceOf(figuresOf(days)),
      });
    },

    async getAnalyticsSummary(req, ctx) {
      const organizationId = callerOf(ctx).organization.id;
      const range = periodRange(req.period, clock.now());
      const previous = previousRange(range);
      const both = await store.usage.days(organizationId, { from: previous.from, to: range.to }, { withEndpoints: false });
      const days = both.filter((d) => d.day >= range.from);
      const figures = figuresOf(days);
      const before = figuresOf(both.filter((d) => d.day < range.from)).requests;
      const [mostActive] = await requestsByKey(store, organizationId, days);
      return create(GetAnalyticsSummaryResponseSchema, {
        period: req.period,
        totalRequests: BigInt(figures.requests),
        growthPercent: before === 0 ? 0 : round2(((figures.requests - before) / before) * 100),
        avgResponseTimeMs: avgResponseTimeMs(figures),
        errorRatePercent: errorRatePercent(figures),
        ...(mostActive && { mostActiveKey: mostActive }),
        trends: dailyRequests(days, range),
        source: sourceOf(figures),
        previousTotalRequests: BigInt(before),
      });
    },

    async getQuotaStatus(_req, ctx) {
      const { organization, plan } = callerOf(ctx);
      const nowMs = clock.now();
      const month = monthOf(utcDay(nowMs));
      const live = deps.limits.peekOrganization(organization.id, plan, nowMs);
      // Stored and unwritten counts cover every replica that flushed; this process's own quota
      // counter may be ahead of both by what it admitted since its last flush.
      const recorded = (await store.usage.allowedRequests(organization.id, month)) + deps.recorder.unflushedAllowed(organization.id, month);
      const used = Math.max(recorded, live.monthly ? live.monthly.limit - live.monthly.remaining : 0);
      const quota = plan.monthlyQuota;
      const perMinute = live.perMinute.limit - live.perMinute.remaining;
      const alerts: QuotaAlert[] = [];
      for (const threshold of deps.alertThresholds) {
        if (used * 100 >= threshold * quota) alerts.push(alert("monthly_quota", threshold, used, quota, "monthly quota"));
      }
      for (const threshold of deps.alertThresholds) {
        const limit = plan.requestsPerMinute;
        if (perMinute * 100 >= threshold * limit) alerts.push(alert("rate_limit", threshold, perMinute, limit, "requests in the last minute"));
      }
      return create(GetQuotaStatusResponseSchema, {
        plan: plan.name,
        quota: {
          requestsPerMonth: BigInt(quota),
          used: BigInt(used),
          remaining: BigInt(Math.max(0, quota - used)),
          percentUsed: percentOf(used, quota),
        },
        rateLimits: { requestsPerMinute: BigInt(plan.requestsPerMinute), currentUsage: BigInt(perMinute) },
        alerts,
      });
    },

    watchUsage: watchUsage({
      store,
      watchers: deps.watchers,
      recorder: deps.recorder,
      clock,
      heartbeatMs: deps.watchHeartbeatMs,
      stopping: deps.stopping,
    }),
  };
}
