import { create, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { CheckResponseSchema, DeniedHttpResponseSchema, OkHttpResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import type { ScopeSet } from "../cache/scope-set.js";
import type { LimitLine, LimitLines } from "../limits/check-limits.js";
import type { RateLimitState } from "../limits/rate-limiter.js";
import { CONTENT_TYPE_JSON, DENIAL_PARTS, OK_STATUS, partsOf, toCheckResponse, type DenialParts, type ResponseContext } from "./check-response.js";
import { RATELIMIT, RATELIMIT_POLICY, rateLimitField, secondsUntil } from "./rate-limit-fields.js";
import type { Decision } from "./decision.js";
import { DENIAL_CODES, type DenialCode } from "../model/denials.js";
import { delimitedContent, FULL, ReverseWriter } from "../rpc/protobuf-wire.js";

/**
 * Decision → the CheckResponse's wire bytes: byte for byte what
 * `toBinary(CheckResponseSchema, toCheckResponse(decision, context))` gives, without building the
 * message. toBinary walks a dozen small messages by reflection per call, which cost more than
 * the decision itself. Here, what does not change per request is encoded once, by protobuf-es
 * from toCheckResponse's own parts (a denial's status and denied_response, each scope set's
 * metadata entry, each headers_to_remove list); the rate-limit headers, the metadata's decision
 * id and the key's id and organization are written per call, as protobuf-es writes them. Bytes
 * kept per cached key would cost every key in use ~400 bytes for two short ASCII copies a call.
 * test/authz/check-response-encoder.test.ts proves the bytes identical for every decision.
 *
 * Writing runs backwards from the end of a scratch buffer (src/rpc/protobuf-wire.ts), so a
 * length-delimited field's length is known when its tag and length are written; the result is
 * copied out. A response that would not fit the scratch buffer (none does in practice) is left to
 * toBinary. The scratch buffer and the bytes built per cache entry belong to an encoder: each
 * CheckService has its own.
 */

const SCRATCH_BYTES = 64 * 1024;

// Tags of length-delimited fields: field number << 3 | 2.
const TAG_1 = 0x0a;
/** Also OkHttpResponse.headers. */
const TAG_2 = 0x12;
const TAG_3 = 0x1a;
const TAG_4 = 0x22;
const TAG_6 = 0x32;
/** HeaderValueOption.append: a BoolValue holding false, an empty message. */
const APPEND_FALSE = Uint8Array.of(TAG_2, 0);

/**
 * A header's or a metadata entry's name as its field 1 (HeaderValue.key, a map entry's key),
 * encoded once: the names are constants (ASCII, under 128 bytes), so a response copies them.
 */
const nameField = (name: string): Uint8Array => Uint8Array.of(TAG_1, name.length, ...Buffer.from(name, "ascii"));

const X_RATELIMIT_LIMIT = nameField("x-ratelimit-limit");
const X_RATELIMIT_REMAINING = nameField("x-ratelimit-remaining");
const X_RATELIMIT_RESET = nameField("x-ratelimit-reset");
const RETRY_AFTER = nameField("retry-after");
const RATELIMIT_POLICY_NAME = nameField(RATELIMIT_POLICY);
const RATELIMIT_NAME = nameField(RATELIMIT);
const X_KEY_ID = nameField("x-keygate-key-id");
const X_ORGANIZATION_ID = nameField("x-keygate-organization-id");
const KEY_ID = nameField("key_id");
const ORGANIZATION_ID = nameField("organization_id");
const DECISION_ID = nameField("decision_id");
const CODE = nameField("code");

/** HeaderValueOption{header: {key: name, value}, append: false} as field `tag`. */
function putHeaderOption(w: ReverseWriter, tag: number, name: Uint8Array, value: string): void {
  const end = w.pos;
  w.bytes(APPEND_FALSE);
  const headerEnd = w.pos;
  w.stringField(TAG_2, value);
  w.bytes(name);
  w.delimited(TAG_1, headerEnd);
  w.delimited(tag, end);
}

/** One entry of a google.protobuf.Struct whose value is a string (Value.string_value, field 3). */
function putStructString(w: ReverseWriter, name: Uint8Array, value: string): void {
  const end = w.pos;
  const valueEnd = w.pos;
  w.string(value);
  w.delimited(TAG_3, valueEnd);
  w.delimited(TAG_2, valueEnd);
  w.bytes(name);
  w.delimited(TAG_1, end);
}

/** x-ratelimit-limit, -remaining, -reset, RateLimit-Policy, RateLimit as toCheckResponse lists them (written last first). */
function putRateLimitHeaders(w: ReverseWriter, tag: number, limit: RateLimitState, line: LimitLine, lines: LimitLines, nowMs: number): void {
  const field = rateLimitField(line, limit, nowMs);
  if (field !== undefined) putHeaderOption(w, tag, RATELIMIT_NAME, field);
  if (lines.policyField !== "") putHeaderOption(w, tag, RATELIMIT_POLICY_NAME, lines.policyField);
  putHeaderOption(w, tag, X_RATELIMIT_RESET, String(secondsUntil(limit.resetAtMs, nowMs)));
  putHeaderOption(w, tag, X_RATELIMIT_REMAINING, String(limit.remaining));
  putHeaderOption(w, tag, X_RATELIMIT_LIMIT, String(limit.limit));
}

/** The entries of a Struct holding this JSON object, as protobuf-es encodes them. */
function structEntries(json: JsonObject): Uint8Array {
  return delimitedContent(toBinary(CheckResponseSchema, create(CheckResponseSchema, { dynamicMetadata: json })));
}

interface DenialBytes {
  /** status and denied_response fields, complete, for the codes without rate-limit headers. */
  head: Uint8Array;
  /** For 429s, the pieces around the per-request headers. */
  status: Uint8Array;
  httpStatus: Uint8Array;
  contentType: Uint8Array;
  body: Uint8Array;
}

function denialBytes(parts: DenialParts): DenialBytes {
  const denied = parts.response;
  return {
    head: toBinary(CheckResponseSchema, create(CheckResponseSchema, { status: parts.status, httpResponse: { case: "deniedResponse", value: denied } })),
    status: toBinary(CheckResponseSchema, create(CheckResponseSchema, { status: parts.status })),
    httpStatus: toBinary(DeniedHttpResponseSchema, create(DeniedHttpResponseSchema, { status: denied.status })),
    contentType: toBinary(DeniedHttpResponseSchema, create(DeniedHttpResponseSchema, { headers: [CONTENT_TYPE_JSON] })),
    body: toBinary(DeniedHttpResponseSchema, create(DeniedHttpResponseSchema, { body: denied.body })),
  };
}

const DENIAL_BYTES = Object.fromEntries(DENIAL_CODES.map((code) => [code, denialBytes(DENIAL_PARTS[code])])) as Record<DenialCode, DenialBytes>;

const OK_STATUS_BYTES = toBinary(CheckResponseSchema, create(CheckResponseSchema, { status: OK_STATUS }));

/**
 * A scope set's entry in an allow's metadata, kept as a latin1 string of its bytes: a string lives
 * compactly on the V8 heap, where a small Buffer would come from Node's shared 8 KB pool and pin
 * a whole slab of short-lived response buffers with it (measured: 8 KB held per 7 buffers).
 */
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");

export class CheckResponseEncoder {
  readonly #writer = new ReverseWriter(SCRATCH_BYTES);
  // Built on first use per scope set, which the cached keys with the same scopes share.
  readonly #scopesBytes = new WeakMap<ScopeSet, string>();
  // headers_to_remove lists are a few shared constant arrays (CheckInput.headersToRemove).
  readonly #removalBytes = new WeakMap<readonly string[], Uint8Array>();
  // A named limit's RATE_LIMITED parts and a balance's CREDITS_EXHAUSTED parts are shared objects too (partsOf), each encoded once.
  readonly #rateLimitedBytes = new WeakMap<DenialParts, DenialBytes>();

  /** The CheckResponse's wire bytes for `decision`. */
  encode(decision: Decision, context: ResponseContext): Uint8Array {
    const w = this.#writer;
    w.reset();
    try {
      this.#write(w, decision, context);
    } catch (error) {
      if (error !== FULL) throw error;
      return toBinary(CheckResponseSchema, toCheckResponse(decision, context));
    }
    return w.finish();
  }

  #scopesEntry(scopes: ScopeSet): string {
    let bytes = this.#scopesBytes.get(scopes);
    if (bytes === undefined) {
      bytes = latin1(structEntries({ scopes: scopes.joined }));
      this.#scopesBytes.set(scopes, bytes);
    }
    return bytes;
  }

  #headersToRemoveBytes(names: readonly string[]): Uint8Array {
    let bytes = this.#removalBytes.get(names);
    if (bytes === undefined) {
      bytes = toBinary(OkHttpResponseSchema, create(OkHttpResponseSchema, { headersToRemove: names as string[] }));
      this.#removalBytes.set(names, bytes);
    }
    return bytes;
  }

  #denialBytes(decision: Exclude<Decision, { outcome: "allowed" }>): DenialBytes {
    const parts = partsOf(decision);
    if (parts === DENIAL_PARTS[decision.outcome]) return DENIAL_BYTES[decision.outcome];
    let bytes = this.#rateLimitedBytes.get(parts);
    if (bytes === undefined) {
      bytes = denialBytes(parts);
      this.#rateLimitedBytes.set(parts, bytes);
    }
    return bytes;
  }

  #write(w: ReverseWriter, decision: Decision, context: ResponseContext): void {
    const { nowMs, decisionId } = context;
    if (decision.outcome === "allowed") {
      const { entry } = decision;
      // dynamic_metadata: key_id, organization_id, scopes, then decision_id.
      const metadataEnd = w.pos;
      putStructString(w, DECISION_ID, decisionId);
      w.latin1(this.#scopesEntry(entry.scopes));
      putStructString(w, ORGANIZATION_ID, entry.organizationId);
      putStructString(w, KEY_ID, entry.id);
      w.delimited(TAG_4, metadataEnd);
      // ok_response: headers (the key's id, then its organization), headers_to_remove, response_headers_to_add.
      const okEnd = w.pos;
      putRateLimitHeaders(w, TAG_6, decision.limit, decision.line, decision.lines, nowMs);
      w.bytes(this.#headersToRemoveBytes(context.headersToRemove));
      putHeaderOption(w, TAG_2, X_ORGANIZATION_ID, entry.organizationId);
      putHeaderOption(w, TAG_2, X_KEY_ID, entry.id);
      w.delimited(TAG_3, okEnd);
      w.bytes(OK_STATUS_BYTES);
      return;
    }

    const code = decision.outcome;
    // dynamic_metadata: decision_id, code, then the key's id and organization when there is one.
    const metadataEnd = w.pos;
    if (decision.entry !== null) {
      // Denials are the exception for a key: its two entries are written each time.
      putStructString(w, ORGANIZATION_ID, decision.entry.organizationId);
      putStructString(w, KEY_ID, decision.entry.id);
    }
    putStructString(w, CODE, code);
    putStructString(w, DECISION_ID, decisionId);
    w.delimited(TAG_4, metadataEnd);
    if (code === "CREDITS_EXHAUSTED") {
      // denied_response: status, headers (content-type, retry-after until the refill, if one comes), body.
      const denial = this.#denialBytes(decision);
      const refillAtMs = (decision as Extract<Decision, { outcome: "CREDITS_EXHAUSTED" }>).credit.endMs;
      const deniedEnd = w.pos;
      w.bytes(denial.body);
      if (refillAtMs !== null) putHeaderOption(w, TAG_2, RETRY_AFTER, String(Math.max(1, secondsUntil(refillAtMs, nowMs))));
      w.bytes(denial.contentType);
      w.bytes(denial.httpStatus);
      w.delimited(TAG_2, deniedEnd);
      w.bytes(denial.status);
      return;
    }
    if (code !== "RATE_LIMITED" && code !== "QUOTA_EXCEEDED") {
      w.bytes(DENIAL_BYTES[code].head);
      return;
    }
    // denied_response: status, headers (content-type, retry-after, rate-limit headers), body.
    const { limit, line, lines } = decision as Extract<Decision, { outcome: "RATE_LIMITED" | "QUOTA_EXCEEDED" }>;
    const denial = this.#denialBytes(decision);
    const deniedEnd = w.pos;
    w.bytes(denial.body);
    putRateLimitHeaders(w, TAG_2, limit, line, lines, nowMs);
    putHeaderOption(w, TAG_2, RETRY_AFTER, String(Math.max(1, secondsUntil(limit.retryAtMs, nowMs))));
    w.bytes(denial.contentType);
    w.bytes(denial.httpStatus);
    w.delimited(TAG_2, deniedEnd);
    w.bytes(denial.status);
  }
}
