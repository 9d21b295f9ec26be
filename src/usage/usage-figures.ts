import { allowedOf, addTally, emptyTally, endpointOf, requestsOf, throttledOf, type KeyDayUsage, type UsageTally } from "../model/usage-tally.js";
import { daysFrom, type Day, type DayRange } from "../time/utc-days.js";

/**
 * The figures the usage RPCs report, summed from key-days. Successful and failed requests come,
 * for each key-day, from Envoy's access log when that key-day has logged responses, and from
 * Check's decisions otherwise:
 *  - access log: successful = responses below 400; failed = Check's denials (they never reached
 *    the upstream) + responses of 400 and above. Allowed requests whose log entry has not
 *    arrived (Envoy's log is lossy by design) are in neither.
 *  - Check only: successful = allowed, failed = denied.
 * Data transferred is the access log's wire bytes where logged, else the request sizes Check saw.
 */
export interface UsageFigures {
  /** Check decisions for known keys: every request counts, allowed or denied. */
  requests: number;
  allowed: number;
  denied: number;
  /** Denied with 429: the key's rate limit or the organization's quota. */
  throttled: number;
  successful: number;
  failed: number;
  /** At least one key-day's successful and failed came from the access log. */
  fromAccessLog: boolean;
  timedResponses: number;
  responseTimeUs: number;
  transferredBytes: number;
}

export function emptyFigures(): UsageFigures {
  return { requests: 0, allowed: 0, denied: 0, throttled: 0, successful: 0, failed: 0, fromAccessLog: false, timedResponses: 0, responseTimeUs: 0, transferredBytes: 0 };
}

function addDay(into: UsageFigures, tally: UsageTally): UsageFigures {
  const requests = requestsOf(tally);
  const allowed = allowedOf(tally);
  const logged = tally.successful + tally.failed > 0;
  into.requests += requests;
  into.allowed += allowed;
  into.denied += requests - allowed;
  into.throttled += throttledOf(tally);
  into.successful += logged ? tally.successful : allowed;
  into.failed += requests - allowed + (logged ? tally.failed : 0);
  into.fromAccessLog ||= logged;
  into.timedResponses += tally.timedResponses;
  into.responseTimeUs += tally.responseTimeUs;
  into.transferredBytes += logged ? tally.transferredBytes : tally.checkBytes;
  return into;
}

export function figuresOf(days: Iterable<KeyDayUsage>): UsageFigures {
  const figures = emptyFigures();
  for (const usage of days) addDay(figures, usage.tally);
  return figures;
}

/** Figures per key, in key id order. */
export function figuresByKey(days: Iterable<KeyDayUsage>): Map<string, UsageFigures> {
  const byKey = new Map<string, UsageFigures>();
  for (const usage of days) {
    let figures = byKey.get(usage.keyId);
    if (!figures) byKey.set(usage.keyId, (figures = emptyFigures()));
    addDay(figures, usage.tally);
  }
  return new Map([...byKey].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Figures for every day of the range, days without usage included, in order. */
export function figuresByDay(days: Iterable<KeyDayUsage>, range: DayRange): Array<{ day: Day; figures: UsageFigures }> {
  const byDay = new Map(daysFrom(range.from, range.to).map((day) => [day, emptyFigures()]));
  for (const usage of days) {
    const figures = byDay.get(usage.day);
    if (figures) addDay(figures, usage.tally);
  }
  return [...byDay].map(([day, figures]) => ({ day, figures }));
}

export interface EndpointCount {
  method: string;
  path: string;
  count: bigint;
}

/** Endpoints by count, most used first (ties by method and path); at most `limit`. */
export function endpointsOf(tallies: Iterable<UsageTally>, limit = Infinity): EndpointCount[] {
  const sum = emptyTally();
  for (const tally of tallies) addTally(sum, tally);
  return [...sum.endpoints]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, limit)
    .map(([key, count]) => ({ ...endpointOf(key), count: BigInt(count) }));
}

/** Rounded to two decimals, as every percentage and average in the responses. */
export const round2 = (value: number): number => Math.round(value * 100) / 100;

export const percentOf = (part: number, whole: number): number => (whole === 0 ? 0 : round2((part / whole) * 100));

export const errorRatePercent = (figures: UsageFigures): number => percentOf(figures.failed, figures.successful + figures.failed);

export const avgResponseTimeMs = (figures: UsageFigures): number =>
  figures.timedResponses === 0 ? 0 : round2(figures.responseTimeUs / figures.timedResponses / 1000);

/** Decimal megabytes (10^6 bytes), as prices per MB are. */
export const megabytes = (bytes: number): number => bytes / 1_000_000;
