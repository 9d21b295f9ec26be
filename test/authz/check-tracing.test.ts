import { propagation } from "@opentelemetry/api";
import { CompositePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { B3Propagator } from "@opentelemetry/propagator-b3";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpRequestFields } from "../../src/authz/check-input.js";
import { CheckRequestDecoder } from "../../src/authz/check-request-decoder.js";
import { CheckTracing } from "../../src/authz/check-tracing.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";

/**
 * Where Check's span finds Envoy's trace: the checked request's `headers`, or its `header_map`
 * when Envoy runs with `encode_raw_headers` (values as bytes); W3C and B3 alike. And the lean
 * decoder keeps those headers only when asked to.
 */

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracing = new CheckTracing(provider.getTracer("test"));

const http = (fields: Partial<HttpRequestFields>): HttpRequestFields => ({ id: "", method: "GET", headers: {}, path: "/", size: 0n, ...fields });

/** The parent the span of a Check on `request` gets. */
function parentOf(request: HttpRequestFields): { traceId: string; spanId: string | undefined } {
  const { span } = tracing.start(request);
  span.end();
  const [ended] = exporter.getFinishedSpans().splice(-1);
  exporter.reset();
  return { traceId: ended!.spanContext().traceId, spanId: ended!.parentSpanContext?.spanId };
}

describe("Check's span joins Envoy's trace", () => {
  beforeAll(() => {
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new B3Propagator()] }));
  });
  afterAll(() => propagation.disable());

  it("from traceparent in the request's headers", () => {
    expect(parentOf(http({ headers: { traceparent: `00-${TRACE}-${PARENT}-01` } }))).toEqual({ traceId: TRACE, spanId: PARENT });
  });

  it("from header_map (encode_raw_headers), its value in raw bytes and the name in any case", () => {
    const header = { key: "Traceparent", value: "", rawValue: new TextEncoder().encode(`00-${TRACE}-${PARENT}-01`) };
    expect(parentOf(http({ headerMap: { headers: [header] } }))).toEqual({ traceId: TRACE, spanId: PARENT });
  });

  it("from B3's single header", () => {
    expect(parentOf(http({ headers: { b3: `${TRACE}-${PARENT}-1` } }))).toEqual({ traceId: TRACE, spanId: PARENT });
  });

  it("starts a trace of its own when the request carries none", () => {
    expect(parentOf(http({})).spanId).toBeUndefined();
  });

  it("the lean decoder keeps the trace headers only when tracing asks for them", () => {
    const bytes = toBinary(CheckRequestSchema, create(CheckRequestSchema, { attributes: { request: { http: { headers: { traceparent: "00-x", ":path": "/" } } } } }));
    expect(new CheckRequestDecoder().decode(bytes).attributes?.request?.http?.headers).toEqual({ ":path": "/" });
    expect(new CheckRequestDecoder(CheckTracing.headers()).decode(bytes).attributes?.request?.http?.headers).toEqual({ ":path": "/", traceparent: "00-x" });
  });
});
