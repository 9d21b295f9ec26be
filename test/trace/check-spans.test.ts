import { context, propagation, trace } from "@opentelemetry/api";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { startTracing, tracingRequested, type Tracing } from "../../src/trace/tracing-sdk.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.js";

/**
 * Tracing end to end, as main starts it: the SDK from OTEL_* variables, exporting OTLP/HTTP JSON
 * to a receiver in this process. A Check carrying Envoy's trace in the checked request's headers
 * becomes a span of that trace, with its decision; admin RPCs and the store calls they make are
 * spans too, and log lines written inside carry the trace id.
 */

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

const W3C_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const W3C_PARENT = "00f067aa0ba902b7";
const B3_TRACE = "80f198ee56343ba864fe8b2a57d3eff7";
const B3_PARENT = "e457b5a2e4d86bd1";
const ADMIN_TRACE = "0af7651916cd43dd8448eb211c80319c";
const UNTRACED = "11111111111111111111111111111111";

const OTEL_ENV = {
  OTEL_TRACES_EXPORTER: "otlp",
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
  OTEL_SERVICE_NAME: "keygate-under-test",
  // Every span, whatever the default sampler would keep.
  OTEL_TRACES_SAMPLER: "always_on",
};

describe("OpenTelemetry tracing (OTEL_* variables, an in-process OTLP receiver)", () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let t: TestApp;
  let check: Client<typeof Authorization>;
  let secret: string;
  let keyId: string;
  let spans: ReceivedSpan[];

  const checkWith = (headers: Record<string, string>) =>
    check.check({
      attributes: {
        source: { address: { address: { case: "socketAddress", value: { address: "203.0.113.7", portSpecifier: { case: "portValue", value: 50_000 } } } } },
        request: { http: { id: "req-1", method: "GET", path: "/v1/machines", host: "api.example.com", headers: { ":method": "GET", ":path": "/v1/machines", ...headers } } },
      },
    });

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    Object.assign(process.env, OTEL_ENV, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces` });
    tracing = startTracing("0.0.0-test")!;
    t = await startTestApp({ tracer: tracing.tracer });
    // The lean gRPC path, as Envoy calls it.
    check = createClient(Authorization, createGrpcTransport({ baseUrl: t.app.url }));
    const admin = createClient(
      (await import("../../gen/keygate/v1/key_admin_pb.js")).KeyAdminService,
      createGrpcTransport({
        baseUrl: t.app.url,
        interceptors: [
          bearer(t.admin.secret),
          (next) => (req) => {
            req.header.set("traceparent", `00-${ADMIN_TRACE}-b7ad6b7169203331-01`);
            return next(req);
          },
        ],
      }),
    );
    const created = await admin.createKey({ name: "traced", scopes: [] });
    secret = created.secret;
    keyId = created.key!.id;

    expect((await checkWith({ "x-api-key": secret, traceparent: `00-${W3C_TRACE}-${W3C_PARENT}-01` })).status?.code).toBe(0);
    await checkWith({ "x-api-key": "sk_live_not_a_key", "x-b3-traceid": B3_TRACE, "x-b3-spanid": B3_PARENT, "x-b3-sampled": "1" });
    // A keygate not handed a tracer builds no span, even with an SDK registered in its process.
    const untraced = await startTestApp();
    await createClient(Authorization, createGrpcTransport({ baseUrl: untraced.app.url })).check({
      attributes: { request: { http: { method: "GET", path: "/", headers: { ":path": "/", traceparent: `00-${UNTRACED}-${W3C_PARENT}-01` } } } },
    });
    await untraced.close();
    await t.close();
    // Shutting down exports what the batch processor holds: every span above has reached the receiver.
    await tracing.shutdown();
    spans = receiver.spans;
  });

  afterAll(async () => {
    for (const name of [...Object.keys(OTEL_ENV), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) delete process.env[name];
    trace.disable();
    context.disable();
    propagation.disable();
    await receiver?.close();
  });

  it("is on only when the variables name an exporter or an OTLP endpoint", () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_SERVICE_NAME: "keygate" })).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: "none" })).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: "otlp", OTEL_SDK_DISABLED: "true" })).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: "otlp" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toBe(true);
  });

  it("exports Check's span in the trace of the request's traceparent, with the decision, key id and organization", () => {
    const span = spans.find((s) => s.traceId === W3C_TRACE && s.kind === SERVER);
    expect(span).toMatchObject({
      name: "envoy.service.auth.v3.Authorization/Check",
      kind: SERVER,
      parentSpanId: W3C_PARENT,
      serviceName: "keygate-under-test",
      attributes: {
        "keygate.decision": "allow",
        "keygate.reason": "OK",
        "keygate.key_id": keyId,
        "keygate.organization_id": t.admin.organization.id,
        "rpc.grpc.status_code": 0,
      },
    });
    expect(span!.attributes["keygate.decision_id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("makes the store read of a key not yet cached a child of Check's span", () => {
    const checkSpan = spans.find((s) => s.traceId === W3C_TRACE && s.name.endsWith("/Check"))!;
    const storeSpans = spans.filter((s) => s.parentSpanId === checkSpan.spanId);
    expect(storeSpans.length).toBeGreaterThan(0);
    expect(storeSpans[0]).toMatchObject({ kind: CLIENT, attributes: { "keygate.store.repository": "keys" } });
  });

  it("joins a B3 trace too, and a denial is an answered Check (no error status)", () => {
    const span = spans.find((s) => s.traceId === B3_TRACE && s.kind === SERVER);
    expect(span).toMatchObject({ parentSpanId: B3_PARENT, attributes: { "keygate.decision": "deny", "keygate.reason": "API_KEY_INVALID" } });
    expect(span!.status.code).not.toBe(ERROR);
    expect(span!.attributes).not.toHaveProperty("keygate.key_id");
  });

  it("exports an admin RPC's span in its client's trace, with its store calls as children and its log line carrying the trace id", () => {
    const rpc = spans.find((s) => s.traceId === ADMIN_TRACE && s.name === "keygate.v1.KeyAdminService/CreateKey");
    expect(rpc).toMatchObject({ kind: SERVER, attributes: { "keygate.key_id": t.admin.key.id, "keygate.organization_id": t.admin.organization.id } });
    expect(spans.some((s) => s.parentSpanId === rpc!.spanId && s.name.startsWith("store "))).toBe(true);
    // The caller's authentication, from the headers before the body is read, is in the same trace with its key lookup.
    const authentication = spans.find((s) => s.traceId === ADMIN_TRACE && s.name === "authenticate keygate.v1.KeyAdminService/CreateKey");
    expect(authentication).toMatchObject({ parentSpanId: "b7ad6b7169203331" });
    expect(spans.some((s) => s.parentSpanId === authentication!.spanId && s.name === "store keys.findByHash")).toBe(true);
    const line = t.logs.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.msg === "rpc" && entry.method === "keygate.v1.KeyAdminService/CreateKey");
    expect(line).toMatchObject({ trace_id: ADMIN_TRACE, span_id: rpc!.spanId });
  });

  it("builds no span in a keygate started without a tracer", () => {
    expect(spans.filter((s) => s.traceId === UNTRACED)).toEqual([]);
  });

  it("never exports a secret", () => {
    for (const body of receiver.bodies) {
      expect(body).not.toContain(secret);
      expect(body).not.toContain(t.admin.secret);
      expect(body).not.toContain("sk_live_not_a_key");
    }
  });
});
