import type { CheckOutcome } from "../model/check-outcomes.js";

/**
 * What Check reports about each decision for a known key, and what Envoy's access log reports
 * about each response. Recording must not touch the store on the request path: implementations
 * aggregate in memory and flush in batches.
 */

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
