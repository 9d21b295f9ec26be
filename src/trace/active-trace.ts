import { context, isSpanContextValid, trace } from "@opentelemetry/api";

/**
 * The active span's ids as log fields (the names of OpenTelemetry's log data model), so a line
 * written inside a traced Check or admin RPC leads to its trace. Without tracing no span is ever
 * active and a line gets none. A new object each time: pino merges a line's fields into it.
 */
export function activeTraceFields(): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId, trace_flags: spanContext.traceFlags.toString(16).padStart(2, "0") };
}
