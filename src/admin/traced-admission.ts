import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import { ConnectError } from "@connectrpc/connect";
import type { RpcAdmission } from "../rpc/rpc-admission.js";
import { fetchHeaders } from "../trace/fetch-headers.js";

/**
 * The admin services' admission (the caller authenticated from the headers, before the body is
 * read, src/rpc/rpc-admission.ts) as a span of the client's trace: it runs before the RPC's own
 * span (rpc-tracing.ts) exists, so without this its store reads (the key by hash, the
 * organization, the user) would be in no trace. The span sits beside the RPC's, under the same
 * parent, and ends with the refusal's code when the caller is refused.
 */

export function tracedAdmission(admission: RpcAdmission, tracer: Tracer): RpcAdmission {
  return {
    maxBody: admission.maxBody,
    async admit(call) {
      const parent = propagation.extract(context.active(), call.header, fetchHeaders);
      const span = tracer.startSpan(
        `authenticate ${call.method.parent.typeName}/${call.method.name}`,
        { kind: SpanKind.INTERNAL, attributes: { "rpc.service": call.method.parent.typeName, "rpc.method": call.method.name } },
        parent,
      );
      try {
        await context.with(trace.setSpan(parent, span), () => admission.admit(call));
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: ConnectError.from(error).rawMessage });
        throw error;
      } finally {
        span.end();
      }
    },
  };
}
