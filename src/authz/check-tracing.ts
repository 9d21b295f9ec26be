import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter, type Tracer } from "@opentelemetry/api";
import type { HttpRequestFields } from "./check-input.js";
import type { Decision } from "./decision.js";

/**
 * A span per Check, joined to the trace of the request Envoy asks about. Envoy's tracer writes
 * that trace into the request's own headers (W3C `traceparent`/`tracestate`, or B3's `x-b3-*` or
 * `b3`), which Check receives in attributes.request.http: they are read from there, not from the
 * gRPC call's metadata, so Check's span sits in the client request's trace beside Envoy's.
 *
 * Built only when tracing is configured (src/trace/tracing-sdk.ts): without it Check has no
 * CheckTracing and allocates nothing for spans. The span carries the decision, the reason, the
 * key id and the organization; never the secret, a header's value or the path.
 */

/**
 * Headers the usual propagators read, kept by the lean decoder when tracing is on (on top of
 * what the configured propagator names), so every OTEL_PROPAGATORS choice finds its headers.
 */
const TRACE_HEADERS = ["traceparent", "tracestate", "baggage", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "uber-trace-id"];

const SPAN_NAME = "envoy.service.auth.v3.Authorization/Check";

const rawDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Reads the propagators' headers from Envoy's `headers` map or, with `encode_raw_headers`, its `header_map`. */
const requestHeaders: TextMapGetter<HttpRequestFields> = {
  keys: (http) => [...Object.keys(http.headers), ...(http.headerMap?.headers.map((header) => header.key.toLowerCase()) ?? [])],
  get(http, name) {
    if (Object.hasOwn(http.headers, name)) return http.headers[name];
    const raw = http.headerMap?.headers.find((header) => header.key.toLowerCase() === name);
    if (raw === undefined) return undefined;
    return raw.value !== "" ? raw.value : rawDecoder.decode(raw.rawValue);
  },
};

/** One Check's span and the context it runs in (store calls made for it become its children). */
export interface CheckSpan {
  readonly span: Span;
  readonly context: Context;
}

export class CheckTracing {
  readonly #tracer: Tracer;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** Header names the lean decoder must keep for the propagators (check-request-decoder.ts). */
  static headers(): string[] {
    return [...new Set([...TRACE_HEADERS, ...propagation.fields().map((name) => name.toLowerCase())])];
  }

  /** Starts the span of a Check whose request is `http` (undefined: Envoy sent no HTTP attributes). */
  start(http: HttpRequestFields | undefined): CheckSpan {
    const parent = http === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, http, requestHeaders);
    const span = this.#tracer.startSpan(
      SPAN_NAME,
      {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": "grpc", "rpc.service": "envoy.service.auth.v3.Authorization", "rpc.method": "Check" },
      },
      parent,
    );
    return { span, context: trace.setSpan(parent, span) };
  }
}

/** Runs `work` with the Check's span active, so logs and store spans inside it carry its trace. */
export function withinCheckSpan<T>(checkSpan: CheckSpan, work: () => T): T {
  return context.with(checkSpan.context, work);
}

/** Ends the span with the decision: a denial is an answered Check, not an error. */
export function endDecided(span: Span, decision: Decision, decisionId: string): void {
  span.setAttributes({
    "keygate.decision": decision.outcome === "allowed" ? "allow" : "deny",
    "keygate.reason": decision.outcome === "allowed" ? "OK" : decision.outcome,
    "keygate.decision_id": decisionId,
    "rpc.grpc.status_code": 0,
  });
  if (decision.entry !== null) span.setAttributes({ "keygate.key_id": decision.entry.id, "keygate.organization_id": decision.entry.organizationId });
  span.end();
}

/** Ends the span of a Check that failed without a decision (its gRPC code: unavailable, internal). */
export function endFailed(span: Span, code: number, message: string, decisionId: string): void {
  span.setAttributes({ "keygate.decision": "error", "keygate.decision_id": decisionId, "rpc.grpc.status_code": code });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}
