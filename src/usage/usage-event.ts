/**
 * What Check reports about each decision for a known key. Recording must not touch the store
 * on the request path: implementations aggregate in memory and flush in batches.
 */
export type CheckOutcome =
  | "allowed"
  | "API_KEY_REVOKED"
  | "API_KEY_DISABLED"
  | "API_KEY_EXPIRED"
  | "IP_NOT_ALLOWED"
  | "SCOPE_MISSING"
  | "RATE_LIMITED"
  | "QUOTA_EXCEEDED";

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
