import type { HTTPAccessLogEntry } from "../../gen/envoy/data/accesslog/v3/accesslog_pb.js";
import { RequestMethod } from "../../gen/envoy/config/core/v3/request_method_pb.js";
import { MAX_RESPONSE_COST } from "../model/response-cost.js";
import { normalizePath } from "../net/request-path.js";
import { MAX_CLOCK_SKEW_MS } from "./access-log-entry.js";
import type { ResponseCostResult } from "./usage-metrics.js";

/**
 * The cost an upstream reported in a response header (docs/response-cost.md), read from Envoy's
 * access-log entry of a request Check allowed. Pure and total, as readAccessLogEntry is: any
 * entry gets an answer, never an exception.
 */

/**
 * How long after a request started its entry may still debit. An entry is recorded as debited
 * (DebitedRequestRepository) until DEBIT_WINDOW_MS and the tolerated clock skew after its start, so every
 * entry still debitable finds the record of an earlier debit: none is debited twice, whenever it
 * comes back. Envoy sends entries within seconds; an hour leaves room for long responses.
 */
export const DEBIT_WINDOW_MS = 3_600_000;
/** Envoy's request ids are UUIDs; a longer one is not Envoy's. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

export type ResponseCostReading =
  | { result: "debit"; requestId: string; amount: number }
  | { result: Exclude<ResponseCostResult, "debited" | "duplicate" | "no_credits" | "failed"> };

/** The request's method and path as Check matched its route (normalizePath), to find the route's header. */
export function routeOf(entry: HTTPAccessLogEntry): { method: string; path: string } {
  const method = entry.request?.requestMethod ?? RequestMethod.METHOD_UNSPECIFIED;
  return { method: RequestMethod[method] ?? "", path: normalizePath(entry.request?.path ?? "") };
}

/**
 * The cost `header` reports on this entry, or why it is ignored; null when the header was not
 * logged or reports 0 (nothing to debit). `atMs` is the request's start (readAccessLogEntry's).
 */
export function readResponseCost(entry: HTTPAccessLogEntry, header: string, atMs: number, nowMs: number): ResponseCostReading | null {
  const headers = entry.response?.responseHeaders;
  if (headers === undefined || !Object.hasOwn(headers, header)) return null;
  const value = headers[header]!.trim();
  // Digits only: no sign, fraction, exponent or list (a repeated header is logged joined by `,`).
  if (!/^\d{1,16}$/.test(value)) return { result: "malformed" };
  const amount = Number(value);
  if (amount > MAX_RESPONSE_COST) return { result: "too_large" };
  if (amount === 0) return null;
  const requestId = entry.request?.requestId ?? "";
  if (requestId === "") return { result: "no_request_id" };
  if (!REQUEST_ID.test(requestId)) return { result: "bad_request_id" };
  if (atMs < nowMs - DEBIT_WINDOW_MS) return { result: "late" };
  return { result: "debit", requestId, amount };
}

/** Until when a debit of a request that started at `atMs` is remembered: past it, its entry is too late to debit. */
export const debitRememberedUntil = (atMs: number): Date => new Date(atMs + DEBIT_WINDOW_MS + MAX_CLOCK_SKEW_MS);
