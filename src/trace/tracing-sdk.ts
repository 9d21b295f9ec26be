import { trace, type Tracer } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { B3Propagator } from "@opentelemetry/propagator-b3";
import { NodeSDK } from "@opentelemetry/sdk-node";

/**
 * OpenTelemetry tracing, configured only by the standard OTEL_* variables and off unless they ask
 * for it. The Node SDK alone would export to localhost:4318 whenever OTEL_TRACES_EXPORTER is
 * unset; keygate starts it only when an exporter or an OTLP endpoint is named, so a keygate
 * nobody configured for tracing builds no span at all (its parts get no tracer, src/app.ts).
 *
 * Only traces: metrics stay Prometheus's (/metrics) and logs stay pino's lines on standard
 * output, so OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER are not read. No instrumentation
 * patches modules, which is why the SDK may start in main() after the imports: the spans are
 * keygate's own (Check, the admin RPCs, the store calls inside them).
 */

/** A started SDK: the tracer keygate's parts take, and the shutdown that flushes the last spans. */
export interface Tracing {
  readonly tracer: Tracer;
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

const set = (value: string | undefined): boolean => value !== undefined && value.trim() !== "";

/** Whether the variables ask for traces: an exporter other than `none`, or an OTLP endpoint, and the SDK not disabled. */
export function tracingRequested(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (exporters.length > 0) return !exporters.every((name) => name === "none");
  return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Without OTEL_PROPAGATORS, traces are joined from W3C `traceparent`/`tracestate` and from B3
 * (Envoy's and Istio's Zipkin tracers send `x-b3-*` or `b3`; B3Propagator reads both forms),
 * and baggage is kept. OTEL_PROPAGATORS, when set, replaces this list exactly.
 */
const defaultPropagator = () =>
  new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new B3Propagator()] });

/**
 * Starts the SDK from process.env (which the SDK reads itself: exporter, endpoint, protocol,
 * headers, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and its argument,
 * the batch processor's OTEL_BSP_*), or undefined when tracing is not requested.
 */
export function startTracing(version: string, env: Env = process.env): Tracing | undefined {
  if (!tracingRequested(env)) return undefined;
  const sdk = new NodeSDK({
    // "keygate" unless the variables name the service (the SDK reads them; this only fills the gap).
    ...(!set(env.OTEL_SERVICE_NAME) && !/(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? "") && { serviceName: "keygate" }),
    ...(set(env.OTEL_PROPAGATORS) ? {} : { textMapPropagator: defaultPropagator() }),
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { tracer: trace.getTracer("keygate", version), shutdown: () => sdk.shutdown() };
}
