import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  Environment,
  KeyType,
  RateLimitPeriod,
  UsagePeriod,
  UsageSource,
  type ApiKey,
  type Money,
} from "../../gen/keygate/v1/key_admin_pb.js";

/** Times are shown and entered in UTC, the time keygate counts usage days in. */
export function formatTime(ts: Timestamp | undefined): string {
  if (!ts) return "—";
  return `${timestampDate(ts).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** For <input type="datetime-local">, read as UTC. */
export function toLocalInput(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString().slice(0, 16) : "";
}

export function fromLocalInput(value: string): Timestamp | undefined {
  if (value === "") return undefined;
  const date = new Date(`${value}:00Z`);
  return Number.isNaN(date.getTime()) ? undefined : timestampFromDate(date);
}

export const formatCount = (n: bigint | number): string => Number(n).toLocaleString("en-US");

export function formatMoney(money: Money | undefined): string {
  if (!money || money.currencyCode === "") return "—";
  const format = new Intl.NumberFormat("en-US", { style: "currency", currency: money.currencyCode });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(Number(money.minorUnits) / 10 ** digits);
}

export const ENVIRONMENT_LABEL: Record<Environment, string> = {
  [Environment.UNSPECIFIED]: "—",
  [Environment.LIVE]: "live",
  [Environment.TEST]: "test",
};

export const KEY_TYPE_LABEL: Record<KeyType, string> = {
  [KeyType.UNSPECIFIED]: "—",
  [KeyType.USER]: "user",
  [KeyType.SHARED]: "shared",
};

export const PERIOD_LABEL: Record<RateLimitPeriod, string> = {
  [RateLimitPeriod.UNSPECIFIED]: "",
  [RateLimitPeriod.SECOND]: "second",
  [RateLimitPeriod.MINUTE]: "minute",
  [RateLimitPeriod.HOUR]: "hour",
  [RateLimitPeriod.DAY]: "day",
};

export const USAGE_PERIODS = [
  [String(UsagePeriod.DAY), "Today"],
  [String(UsagePeriod.WEEK), "Last 7 days"],
  [String(UsagePeriod.MONTH), "Last 30 days"],
] as const;

export function sourceNote(source: UsageSource): string {
  if (source === UsageSource.ACCESS_LOG) return "Success and failure from Envoy's access log (upstream status).";
  if (source === UsageSource.CHECK_DECISIONS) return "Success and failure from keygate's own decisions (allowed or denied).";
  return "";
}

export function formatRateLimit(key: Pick<ApiKey, "rateLimit" | "rateLimitPeriod">): string {
  return key.rateLimit > 0 ? `${formatCount(key.rateLimit)} / ${PERIOD_LABEL[key.rateLimitPeriod]}` : "plan default";
}

/** Shared with the CLI's `keygate usage summary`. */
export { formatGrowth, formatResponseTime } from "../../src/model/usage-figures.js";
