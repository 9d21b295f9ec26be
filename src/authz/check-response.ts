import { create, type JsonObject } from "@bufbuild/protobuf";
import { HeaderValueOptionSchema, type HeaderValueOption } from "../../gen/envoy/config/core/v3/base_pb.js";
import {
  CheckResponseSchema,
  DeniedHttpResponseSchema,
  OkHttpResponseSchema,
  type CheckResponse,
  type DeniedHttpResponse,
} from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { HttpStatusSchema } from "../../gen/envoy/type/v3/http_status_pb.js";
import { StatusSchema, type Status } from "../../gen/google/rpc/status_pb.js";
import type { CachedKey } from "../cache/cached-key.js";
import type { LimitLine, LimitLines } from "../limits/check-limits.js";
import type { RateLimitState } from "../limits/rate-limiter.js";
import type { Decision } from "./decision.js";
import { creditsExhaustedMessage, DENIAL_CODES, DENIALS, rateLimitedMessage, type DenialCode } from "../model/denials.js";
import { RATELIMIT, RATELIMIT_POLICY, rateLimitField, secondsUntil } from "./rate-limit-fields.js";

/**
 * Step three of Check: decision → CheckResponse, exactly as the contract's "Check" section says.
 * A decision is always an OK RPC; CheckResponse.status carries allow (0) or the denial's gRPC
 * code. What does not vary per request is built once: whole denied responses for the 401/403
 * codes, statuses, bodies. An allow's parts that follow from its key are built per response, as
 * the rest of the message is: keeping them per cached key would cost every key in use their
 * bytes, for a path (Connect, gRPC-Web) that Envoy's calls do not take.
 *
 * Rate-limit headers (as Envoy's own ratelimit filter emits them): x-ratelimit-limit is the limit
 * of the tightest policy that applies, x-ratelimit-remaining what is left of it, x-ratelimit-reset
 * the seconds until it is fully replenished; retry-after (429 only) the seconds until the next
 * request would be admitted. Beside them, the IETF draft's RateLimit-Policy and RateLimit
 * (rate-limit-fields.ts). A RATE_LIMITED denial's message names the limit that ran out.
 */

/** Header added to a response or upstream request, with `append` explicitly false. */
export function headerOption(key: string, value: string): HeaderValueOption {
  return create(HeaderValueOptionSchema, { header: { key, value }, append: false });
}

export const OK_STATUS: Status = create(StatusSchema, { code: 0 });
export const CONTENT_TYPE_JSON = headerOption("content-type", "application/json");

export interface DenialParts {
  status: Status;
  /** Complete for codes without rate-limit headers; for 429s, the template to copy. */
  response: DeniedHttpResponse;
}

function denialParts(code: DenialCode, message: string): DenialParts {
  const { httpStatus, grpcCode } = DENIALS[code];
  return {
    status: create(StatusSchema, { code: grpcCode, message }),
    response: create(DeniedHttpResponseSchema, {
      status: create(HttpStatusSchema, { code: httpStatus }),
      headers: [CONTENT_TYPE_JSON],
      body: JSON.stringify({ error: { code, message } }),
    }),
  };
}

export const DENIAL_PARTS = Object.fromEntries(DENIAL_CODES.map((code) => [code, denialParts(code, DENIALS[code].message)])) as Record<DenialCode, DenialParts>;

// The parts of denials whose messages say more than their code's (the limit that ran out, whose
// credits and when they refill): a few messages, made once each, bounded since limit names are
// the organizations' to choose and refill times change.
const MAX_NAMED_PARTS = 1_000;
const namedParts = new Map<string, DenialParts>();

/** The parts of the denial `decision` makes: the code's, or for a limit or balance that ran out, those naming it. */
export function partsOf(decision: Exclude<Decision, { outcome: "allowed" }>): DenialParts {
  let message: string;
  if (decision.outcome === "CREDITS_EXHAUSTED") message = creditsExhaustedMessage(decision.credit.owner, decision.credit.endMs);
  else if (decision.outcome === "RATE_LIMITED" && decision.line.owner !== "organization") message = rateLimitedMessage(decision.line.owner, decision.line.name);
  else return DENIAL_PARTS[decision.outcome];
  let parts = namedParts.get(message);
  if (parts === undefined) {
    if (namedParts.size >= MAX_NAMED_PARTS) namedParts.clear();
    parts = denialParts(decision.outcome, message);
    namedParts.set(message, parts);
  }
  return parts;
}

/** x-ratelimit-* for the tightest limit, then RateLimit-Policy and RateLimit. */
function rateLimitHeaders(limit: RateLimitState, line: LimitLine, lines: LimitLines, nowMs: number): HeaderValueOption[] {
  const headers = [
    headerOption("x-ratelimit-limit", String(limit.limit)),
    headerOption("x-ratelimit-remaining", String(limit.remaining)),
    headerOption("x-ratelimit-reset", String(secondsUntil(limit.resetAtMs, nowMs))),
  ];
  // Neither IETF field names the organization's limits (rate-limit-fields.ts).
  if (lines.policyField !== "") headers.push(headerOption(RATELIMIT_POLICY, lines.policyField));
  const field = rateLimitField(line, limit, nowMs);
  if (field !== undefined) headers.push(headerOption(RATELIMIT, field));
  return headers;
}

interface AllowParts {
  identityHeaders: HeaderValueOption[];
  metadata: JsonObject;
}

/** An allow's parts for this key. */
function allowParts(entry: CachedKey): AllowParts {
  const { id, organizationId } = entry;
  return {
    identityHeaders: [headerOption("x-keygate-key-id", id), headerOption("x-keygate-organization-id", organizationId)],
    metadata: { key_id: id, organization_id: organizationId, scopes: entry.scopes.joined },
  };
}

export interface ResponseContext {
  /** The request headers that carried the secret (CheckInput.headersToRemove). */
  headersToRemove: readonly string[];
  nowMs: number;
  /** Emitted in dynamic_metadata; also what logs carry. */
  decisionId: string;
}

export function toCheckResponse(decision: Decision, context: ResponseContext): CheckResponse {
  const { nowMs, decisionId } = context;
  if (decision.outcome === "allowed") {
    const parts = allowParts(decision.entry);
    return create(CheckResponseSchema, {
      status: OK_STATUS,
      httpResponse: {
        case: "okResponse",
        value: create(OkHttpResponseSchema, {
          headers: parts.identityHeaders,
          headersToRemove: context.headersToRemove as string[],
          responseHeadersToAdd: rateLimitHeaders(decision.limit, decision.line, decision.lines, nowMs),
        }),
      },
      dynamicMetadata: { ...parts.metadata, decision_id: decisionId },
    });
  }

  const code = decision.outcome;
  const parts = partsOf(decision);
  let denied = parts.response;
  if (code === "RATE_LIMITED" || code === "QUOTA_EXCEEDED") {
    const { limit, line, lines } = decision;
    denied = create(DeniedHttpResponseSchema, {
      status: denied.status,
      headers: [
        CONTENT_TYPE_JSON,
        headerOption("retry-after", String(Math.max(1, secondsUntil(limit.retryAtMs, nowMs)))),
        ...rateLimitHeaders(limit, line, lines, nowMs),
      ],
      body: denied.body,
    });
  } else if (code === "CREDITS_EXHAUSTED" && decision.credit.endMs !== null) {
    // Retry once the balance refills; one that never does has no time to give.
    denied = create(DeniedHttpResponseSchema, {
      status: denied.status,
      headers: [CONTENT_TYPE_JSON, headerOption("retry-after", String(Math.max(1, secondsUntil(decision.credit.endMs, nowMs))))],
      body: denied.body,
    });
  }
  const metadata: JsonObject = { decision_id: decisionId, code };
  if (decision.entry !== null) {
    metadata["key_id"] = decision.entry.id;
    metadata["organization_id"] = decision.entry.organizationId;
  }
  return create(CheckResponseSchema, {
    status: parts.status,
    httpResponse: { case: "deniedResponse", value: denied },
    dynamicMetadata: metadata,
  });
}
