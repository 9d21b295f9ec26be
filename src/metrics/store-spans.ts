import { context, SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";

/**
 * A span for one store call, as a child of the traced Check or admin RPC that made it. Calls made
 * outside any span (the usage flush, the change feed's polls, readiness pings, lease asks on
 * their timers) get none: they run every few seconds whatever the traffic, and as traces of their
 * own they would drown the requests' traces. Names are the repository and method (`keys.findByHash`),
 * a closed set; no argument (ids, hashes, filters) is recorded.
 */
export function storeCallSpan(tracer: Tracer, repository: string, operation: string): { end(failed: boolean): void } | undefined {
  const active = context.active();
  if (trace.getSpan(active) === undefined) return undefined;
  const span = tracer.startSpan(
    `store ${repository}.${operation}`,
    { kind: SpanKind.CLIENT, attributes: { "keygate.store.repository": repository, "keygate.store.operation": operation } },
    active,
  );
  return {
    end(failed) {
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
