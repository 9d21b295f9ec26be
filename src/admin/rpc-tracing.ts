import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import { Code, type Interceptor } from "@connectrpc/connect";
import { rpcOutcome } from "../rpc/rpc-outcome.js";
import { fetchHeaders } from "../trace/fetch-headers.js";
import { callerContextKey } from "./caller.js";

/**
 * A span per admin RPC (KeyAdminService, OperatorService), joined to the trace its client sent in
 * the call's headers (`traceparent`, B3: whatever the configured propagators read), and active
 * while the handler runs, so the store calls it makes are its children and its log lines carry
 * its trace id. It ends with the code the client sees and, once authenticated, the caller's key
 * id and organization. src/app.ts puts it only on services of a keygate configured for tracing,
 * outside the logging interceptor (which turns unexpected errors into `internal`).
 */

export function rpcTracing(tracer: Tracer): Interceptor {
  return (next) => (req) => {
    const parent = propagation.extract(context.active(), req.header, fetchHeaders);
    const span = tracer.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": "connect_rpc", "rpc.service": req.service.typeName, "rpc.method": req.method.name },
      },
      parent,
    );
    const ended = rpcOutcome((call, error) => {
      const caller = call.contextValues.get(callerContextKey);
      if (caller !== undefined) span.setAttributes({ "keygate.key_id": caller.key.id, "keygate.organization_id": caller.organization.id });
      if (error !== undefined) {
        // Connect's own spelling of the code (not_found), as OpenTelemetry's RPC conventions ask.
        span.setAttribute("rpc.connect_rpc.error_code", Code[error.code].replace(/[A-Z]/g, (letter, at: number) => (at === 0 ? "" : "_") + letter.toLowerCase()));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.rawMessage });
      }
      span.end();
    });
    return context.with(trace.setSpan(parent, span), () => ended(next)(req));
  };
}
