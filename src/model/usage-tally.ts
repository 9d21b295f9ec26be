import { CHECK_OUTCOMES, THROTTLED_OUTCOMES, type CheckOutcome } from "./check-outcomes.js";
import type { Day } from "../time/utc-days.js";

/**
 * The additive counters usage is made of. One tally per key and UTC day is what the store keeps
 * (pre-aggregated) and what the recorder buffers; any sum of them is a tally too.
 */
export interface UsageTally {
  /** Check decisions by outcome. */
  outcomes: Partial<Record<CheckOutcome, number>>;
  /** Check decisions by endpoint, keyed by endpointKey(). */
  endpoints: Map<string, number>;
  /** Request bytes Check was told of (http.size, else content-length), allowed requests only. */
  checkBytes: number;
  /** Access-log responses below 400. */
  successful: number;
  /** Access-log responses of 400 and above (4xx and 5xx). */
  failed: number;
  /** Access-log responses that carried a duration, and the sum of those durations. */
  timedResponses: number;
  responseTimeUs: number;
  /** Bytes received from and sent to the client, per the access log. */
  transferredBytes: number;
}

/** The numeric counters of a tally besides outcomes and endpoints. */
export const SCALAR_COUNTERS = ["checkBytes", "successful", "failed", "timedResponses", "responseTimeUs", "transferredBytes"] as const;

/** One key's usage on one UTC day. */
export interface KeyDayUsage {
  organizationId: string;
  keyId: string;
  day: Day;
  /** The last allowed request, or null when none was allowed that day. */
  lastUsedAtMs: number | null;
  tally: UsageTally;
}

export function emptyTally(): UsageTally {
  return { outcomes: {}, endpoints: new Map(), checkBytes: 0, successful: 0, failed: 0, timedResponses: 0, responseTimeUs: 0, transferredBytes: 0 };
}

/** Adds `from` into `into` and returns `into`. */
export function addTally(into: UsageTally, from: UsageTally): UsageTally {
  for (const outcome of CHECK_OUTCOMES) {
    const count = from.outcomes[outcome];
    if (count) into.outcomes[outcome] = (into.outcomes[outcome] ?? 0) + count;
  }
  for (const [endpoint, count] of from.endpoints) into.endpoints.set(endpoint, (into.endpoints.get(endpoint) ?? 0) + count);
  for (const counter of SCALAR_COUNTERS) into[counter] += from[counter];
  return into;
}

export const laterOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

export function requestsOf(tally: UsageTally): number {
  let total = 0;
  for (const outcome of CHECK_OUTCOMES) total += tally.outcomes[outcome] ?? 0;
  return total;
}

export const allowedOf = (tally: UsageTally): number => tally.outcomes.allowed ?? 0;

export const deniedOf = (tally: UsageTally): number => requestsOf(tally) - allowedOf(tally);

export function throttledOf(tally: UsageTally): number {
  let total = 0;
  for (const outcome of THROTTLED_OUTCOMES) total += tally.outcomes[outcome] ?? 0;
  return total;
}

/** Endpoints are counted under `METHOD path`; the method never holds a space. */
export const endpointKey = (method: string, path: string): string => `${method} ${path}`;

export function endpointOf(key: string): { method: string; path: string } {
  const space = key.indexOf(" ");
  return { method: key.slice(0, space), path: key.slice(space + 1) };
}
