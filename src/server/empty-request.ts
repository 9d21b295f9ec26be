import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { createAsyncIterable } from "@connectrpc/connect/protocol";

/**
 * The same call carrying an empty request message instead of what the client sent (or is still
 * sending). A call refused from its headers runs like this: Connect parses a request message
 * before any interceptor runs, and the refusal should still travel through the service's
 * interceptors (logging, metrics, error mapping) like any other error, while nothing the client
 * wrote is read or parsed. The refusal itself is thrown by an interceptor (src/admin/caller-interceptor.ts).
 */

const ENVELOPED = /^application\/(?:grpc|grpc-web|connect\+)/;
/** Headers that describe the body this request no longer has. */
const BODY_HEADERS = ["content-length", "content-encoding", "connect-content-encoding", "grpc-encoding"];

export function withEmptyMessage(request: UniversalServerRequest): UniversalServerRequest {
  const header = new Headers(request.header);
  for (const name of BODY_HEADERS) header.delete(name);
  if (request.method === "GET") {
    // Connect's GET carries the message in the query.
    const url = new URL(request.url);
    for (const name of ["base64", "compression"]) url.searchParams.delete(name);
    url.searchParams.set("encoding", "json");
    url.searchParams.set("message", "{}");
    return { ...request, url: url.toString(), header, body: createAsyncIterable([]) };
  }
  const contentType = (header.get("content-type") ?? "").toLowerCase();
  const message = contentType.includes("json") ? new TextEncoder().encode("{}") : new Uint8Array(0);
  if (!ENVELOPED.test(contentType)) return { ...request, header, body: createAsyncIterable([message]) };
  const envelope = new Uint8Array(5 + message.length);
  new DataView(envelope.buffer).setUint32(1, message.length);
  envelope.set(message, 5);
  return { ...request, header, body: createAsyncIterable([envelope]) };
}
