import type { JsonValue } from "@bufbuild/protobuf";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { ResponseFlags_Unauthorized_Reason, type HTTPAccessLogEntry } from "../../gen/envoy/data/accesslog/v3/accesslog_pb.js";
import { isId } from "../model/ids.js";
import type { ResponseUsageEvent } from "./usage-event.js";
import type { AccessLogResult } from "./usage-metrics.js";

/**
 * One Envoy HTTP access-log entry → a response for usage, or the reason it is ignored. Pure and
 * total: any entry, however garbled, gets an answer, never an exception.
 *
 * The key comes only from ext_authz's dynamic metadata (`common_properties.metadata.filter_metadata
 * ["envoy.filters.http.ext_authz"]`: `key_id`, `organization_id`), which only keygate's Check can
 * set. Never from logged request headers such as `x-keygate-key-id`: a client can send those
 * itself, and on a request no Check allowed (a route with ext_authz disabled, like deploy/envoy's
 * `/status`) Envoy logs them as the client wrote them, which would put usage on any key. Requests
 * Check denied are skipped: Check counted them already.
 */

export const EXT_AUTHZ_METADATA = "envoy.filters.http.ext_authz";

/** Entries older than this are not counted (Envoy sends logs within seconds). */
export const MAX_ENTRY_AGE_MS = 7 * 86_400_000;
/** Clock skew tolerated for entries that seem to come from the future. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const MAX_DURATION_US = 86_400_000_000;
/** Larger byte counts than this on one request are garbage rather than traffic. */
const MAX_BYTES = 2n ** 40n;

export type AccessLogReading =
  | { result: "recorded"; event: ResponseUsageEvent }
  | { result: Exclude<AccessLogResult, "recorded" | "unknown_key" | "not_http"> };

interface Identity {
  keyId: string;
  organizationId: string;
}

const stringIn = (object: { [key: string]: JsonValue } | undefined, name: string): string | undefined => {
  if (object === undefined || !Object.hasOwn(object, name)) return undefined;
  const value = object[name];
  return typeof value === "string" ? value : undefined;
};

type IdentityOrDenial = Identity | "denied_by_check" | null;

function identityOf(entry: HTTPAccessLogEntry): IdentityOrDenial {
  const metadata = entry.commonProperties?.metadata?.filterMetadata;
  const authz = metadata !== undefined && Object.hasOwn(metadata, EXT_AUTHZ_METADATA) ? metadata[EXT_AUTHZ_METADATA] : undefined;
  // Check's denials carry a `code` in their metadata.
  if (stringIn(authz, "code") !== undefined) return "denied_by_check";
  const keyId = stringIn(authz, "key_id");
  const organizationId = stringIn(authz, "organization_id");
  return keyId !== undefined && organizationId !== undefined ? { keyId, organizationId } : null;
}

function timestampMs(timestamp: Timestamp): number | undefined {
  const ms = Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000);
  return timestamp.nanos >= 0 && timestamp.nanos <= 999_999_999 && Number.isSafeInteger(ms) ? ms : undefined;
}

/** Microseconds, or null when the duration is negative, malformed or absurd. */
function durationUs(duration: Duration): number | null {
  const { seconds, nanos } = duration;
  if (seconds < 0n || nanos < 0 || nanos > 999_999_999) return null;
  const us = Number(seconds) * 1_000_000 + Math.round(nanos / 1000);
  return us <= MAX_DURATION_US ? us : null;
}

/** Bytes from and to the client: Envoy's wire counts, else its header and body sizes. */
function transferredBytes(entry: HTTPAccessLogEntry): number | null {
  const common = entry.commonProperties;
  const wire = [common?.downstreamWireBytesReceived ?? 0n, common?.downstreamWireBytesSent ?? 0n];
  const layer7 = [
    entry.request?.requestHeadersBytes ?? 0n,
    entry.request?.requestBodyBytes ?? 0n,
    entry.response?.responseHeadersBytes ?? 0n,
    entry.response?.responseBodyBytes ?? 0n,
  ];
  const counts = wire.some((bytes) => bytes > 0n) ? wire : layer7;
  if (counts.some((bytes) => bytes > MAX_BYTES)) return null;
  return Number(counts.reduce((a, b) => a + b, 0n));
}

export function readAccessLogEntry(entry: HTTPAccessLogEntry, nowMs: number): AccessLogReading {
  const common = entry.commonProperties;
  if (common?.responseFlags?.unauthorizedDetails?.reason === ResponseFlags_Unauthorized_Reason.EXTERNAL_SERVICE) {
    return { result: "denied_by_check" };
  }
  const identity = identityOf(entry);
  if (identity === "denied_by_check") return { result: "denied_by_check" };
  if (identity === null) return { result: "no_identity" };
  if (!isId("key", identity.keyId) || !isId("org", identity.organizationId)) return { result: "bad_identity" };

  const status = entry.response?.responseCode;
  if (status === undefined || !Number.isInteger(status) || status < 100 || status > 599) return { result: "bad_status" };

  const atMs = common?.startTime && timestampMs(common.startTime);
  if (atMs === undefined || atMs < nowMs - MAX_ENTRY_AGE_MS || atMs > nowMs + MAX_CLOCK_SKEW_MS) return { result: "bad_time" };

  const duration = common?.duration ?? common?.timeToLastDownstreamTxByte;
  const us = duration === undefined ? undefined : durationUs(duration);
  if (us === null) return { result: "bad_duration" };

  const bytes = transferredBytes(entry);
  if (bytes === null) return { result: "bad_size" };

  return {
    result: "recorded",
    event: { ...identity, atMs, status, transferredBytes: bytes, ...(us !== undefined && { durationUs: us }) },
  };
}
