import { DENIAL_CODES, type DenialCode } from "../model/denials.js";

/**
 * What Check reports about each decision for a known key, and what Envoy's access log reports
 * about each response. Recording must not touch the store on the request path: implementations
 * aggregate in memory and flush in batches.
 */

/** Denials that come before any key is known have no key to count for. */
const KEYLESS_DENIALS = ["PATH_REJECTED", "API_KEY_MISSING", "API_KEY_INVALID"] as const;
type KeyedDenial = Exclude<DenialCode, (typeof KEYLESS_DENIALS)[number]>;
const isKeyed = (code: DenialCode): code is KeyedDenial => !(KEYLESS_DENIALS as readonly DenialCode[]).includes(code);

/** A decision for a known key: allowed, or one of Check's denials (src/model/denials.ts). */
export type CheckOutcome = "allowed" | KeyedDenial;

export const CHECK_OUTCOMES: readonly CheckOutcome[] = ["allowed", ...DENIAL_CODES.filter(isKeyed)];

/** The outcomes that answer 429: the key's own rate limit and the organization's quota. */
export const THROTTLED_OUTCOMES: readonly CheckOutcome[] = ["RATE_LIMITED", "QUOTA_EXCEEDED"];

export interface CheckUsageEvent {
  keyId: string;
  organizationId: string;
  /** HTTP method as Envoy saw it, e.g. GET. */
  method: string;
  /** Request path without the query string. */
  path: string;
  outcome: CheckOutcome;
  atMs: number;
  /** Request size in bytes when Envoy knows it (its http.size, else content-length). */
  requestBytes?: number;
}

export interface UsageRecorder {
  record(event: CheckUsageEvent): void;
}

/** One upstream response of a request keygate allowed, from Envoy's access log. */
export interface ResponseUsageEvent {
  keyId: string;
  organizationId: string;
  /** When Envoy started serving the request. */
  atMs: number;
  /** The HTTP status Envoy returned to the client (100-599). */
  status: number;
  /** From the first byte received to the last byte sent, when Envoy logged it. */
  durationUs?: number;
  /** Bytes received from and sent to the client. */
  transferredBytes: number;
}

/** Responses with a status below this are successful; 4xx and 5xx are failed. */
export const FIRST_FAILED_STATUS = 400;
