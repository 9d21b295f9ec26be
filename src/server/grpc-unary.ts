import http2 from "node:http2";
import type { BodyBudget } from "./body-budget.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { COMPRESSED_FLAG, frame, FRAME_HEADER_BYTES, frameMessageLength } from "../rpc/grpc-frame.js";
import type { UnaryRoute } from "../rpc/unary-route.js";

/**
 * A lean gRPC server for hot unary methods, on node:http2's stream API, beside Connect on the
 * same port. Connect's router serves every protocol through layers of async iterables, abort
 * signals and header objects: measured here (docs/benchmark.md) a no-op unary call on
 * connect-node costs several times what node:http2 itself does, which is most of Check's cost.
 * This path does only what a unary gRPC call needs: buffer the one request message, decode it,
 * call the implementation, write headers, one length-prefixed message and the status trailers.
 *
 * It takes a stream only when its headers show a plain call Connect would serve the same way
 * (POST, binary `application/grpc[+proto]`, no compression, a well-formed or absent
 * grpc-timeout); anything else (gRPC-Web, Connect, JSON, gzip) goes to Connect. Within the body
 * it answers protocol errors with Connect's codes and messages. Like Connect's unary handlers,
 * the implementation runs to completion whatever grpc-timeout says (Envoy enforces its own
 * timeout by resetting the stream), and responses are never compressed (which gRPC allows).
 *
 * Its routes are handed to the HttpServer explicitly (HttpServerOptions.unaryRoutes; a service
 * builds one with src/rpc/unary-route.ts).
 */

const GRPC_CONTENT_TYPE = /^application\/grpc(?:\+proto)?$/i;
const GRPC_TIMEOUT = /^\d{1,8}[HMSmun]$/;

/** The route for a stream this path should take, or undefined to leave it to Connect. */
function unaryRouteFor(routes: ReadonlyMap<string, UnaryRoute>, headers: http2.IncomingHttpHeaders): UnaryRoute | undefined {
  const path = headers[":path"];
  if (path === undefined) return undefined;
  const route = routes.get(path);
  if (route === undefined || headers[":method"] !== "POST") return undefined;
  const contentType = headers["content-type"];
  if (contentType === undefined || !GRPC_CONTENT_TYPE.test(contentType)) return undefined;
  const encoding = headers["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity") return undefined;
  const timeout = headers["grpc-timeout"];
  if (timeout !== undefined && !GRPC_TIMEOUT.test(timeout as string)) return undefined;
  return route;
}

/**
 * The one request of a unary call's body, decoded, or the error Connect's gRPC handler gives for
 * the body, checked in Connect's order: envelope sizes, then each message in turn (compression
 * flag, parse), then "extra message". `complete` is false when the body was cut off because it
 * grew past what one message may take (so there is more than one).
 */
function singleRequest(route: UnaryRoute, body: Buffer, readMaxBytes: number, complete: boolean): unknown {
  // The usual body, one whole uncompressed message, decoded without the general walk's objects.
  if (body.length >= FRAME_HEADER_BYTES && (body[0]! & COMPRESSED_FLAG) === 0) {
    const length = frameMessageLength(body, 0);
    if (length <= readMaxBytes && FRAME_HEADER_BYTES + length === body.length) {
      try {
        return route.decode(body.subarray(FRAME_HEADER_BYTES));
      } catch (error) {
        return error;
      }
    }
  }
  const messages: Array<{ flags: number; data: Uint8Array }> = [];
  let offset = 0;
  while (body.length - offset >= FRAME_HEADER_BYTES && messages.length < 2) {
    const length = frameMessageLength(body, offset);
    if (length > readMaxBytes) {
      return new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
    }
    if (body.length - offset - FRAME_HEADER_BYTES < length) break;
    messages.push({ flags: body[offset]!, data: body.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length) });
    offset += FRAME_HEADER_BYTES + length;
  }
  let request: unknown;
  for (const [index, message] of messages.entries()) {
    if ((message.flags & COMPRESSED_FLAG) !== 0) {
      return new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
    }
    try {
      request = route.decode(message.data);
    } catch (error) {
      return error;
    }
    if (index === 1) return EXTRA_MESSAGE();
  }
  if (offset < body.length) return messages.length === 1 && !complete ? EXTRA_MESSAGE() : new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (messages.length === 0) return new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  return request;
}

const EXTRA_MESSAGE = () => new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);

const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc+proto" };
const OK_TRAILERS: http2.OutgoingHttpHeaders = { "grpc-status": "0" };

function errorTrailers(error: unknown): http2.OutgoingHttpHeaders {
  const connectError = error instanceof ConnectError ? error : new ConnectError("internal error", Code.Internal, undefined, undefined, error);
  const trailers: http2.OutgoingHttpHeaders = {};
  setTrailerStatus(new Headers(), connectError).forEach((value, key) => (trailers[key] = value));
  return trailers;
}

/** The OK answer's trailers, as a listener shared by every stream ("wantTrailers" comes once). */
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/** For "error" on a stream nobody is left to answer; one function for all of them. */
function ignore(): void {}

function respond(stream: http2.ServerHttp2Stream, message: Uint8Array | null, trailers: http2.OutgoingHttpHeaders): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  if (trailers === OK_TRAILERS) stream.on("wantTrailers", sendOkTrailers);
  else stream.once("wantTrailers", () => stream.sendTrailers(trailers));
  if (message === null) {
    stream.end();
    return;
  }
  stream.end(frame(message));
}

function answer(stream: http2.ServerHttp2Stream, route: UnaryRoute, request: unknown, caller: unknown): void {
  if (request instanceof Error) return respond(stream, null, errorTrailers(request));
  let response: Uint8Array | Promise<Uint8Array>;
  try {
    response = route.call(request, caller);
  } catch (error) {
    return respond(stream, null, errorTrailers(error));
  }
  if (response instanceof Promise) {
    response.then(
      (bytes) => respond(stream, bytes, OK_TRAILERS),
      (error: unknown) => respond(stream, null, errorTrailers(error)),
    );
  } else respond(stream, response, OK_TRAILERS);
}

/** Node's "stream" event: a new HTTP/2 stream of one of the server's sessions. */
type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

/**
 * Serves `routes` on `server`'s streams ahead of everything else: their streams are taken before
 * the "stream" event reaches node:http2's compatibility layer, which makes req/res of a stream
 * for the request handler (Connect). That layer is the server's own "stream" listener, installed
 * with the request handler; it is taken off the event and handed every stream the lean path
 * leaves, with the event's arguments as they came.
 */
export function serveUnaryFirst(
  server: http2.Http2Server | http2.Http2SecureServer,
  routes: readonly UnaryRoute[],
  readMaxBytes: number,
  bodies: BodyBudget,
): void {
  if (routes.length === 0) return;
  const byPath = new Map(routes.map((route) => [route.path, route]));
  const compatibility = server.listeners("stream") as StreamListener[];
  if (compatibility.length === 0) throw new Error("node:http2's compatibility layer is not a \"stream\" listener: the lean gRPC path cannot stand in front of it");
  server.removeAllListeners("stream");
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    const route = unaryRouteFor(byPath, headers);
    if (route !== undefined) return serveUnaryStream(stream, headers, route, readMaxBytes, bodies);
    for (const listener of compatibility) listener.call(server, stream, headers, flags, rawHeaders);
  });
}

/**
 * Admits the caller of a stream unaryRouteFor chose, reads its request body, calls the route and
 * answers. The bytes held until the body ends count in `bodies`; a stream the budget evicts is
 * reset (ENHANCE_YOUR_CALM) and what it sent dropped.
 */
function serveUnaryStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  route: UnaryRoute,
  readMaxBytes: number,
  bodies: BodyBudget,
): void {
  // A client reset or a broken connection: nobody is left to answer.
  stream.on("error", ignore);
  const caller = route.admit(headers, stream.session?.socket?.remoteAddress);
  if (caller instanceof ConnectError) {
    // Refused before any of the body is buffered; whatever else it sends is read and dropped.
    stream.resume();
    return respond(stream, null, errorTrailers(caller));
  }
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let answered = false;
  const ledger = bodies.open(stream.session ?? stream, () => {
    answered = true;
    first = chunks = undefined;
    stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });
  const limit = readMaxBytes + 2 * FRAME_HEADER_BYTES;
  stream.on("data", (chunk: Buffer) => {
    if (answered || !ledger.hold(chunk.length)) return;
    size += chunk.length;
    if (first === undefined) first = chunk;
    else (chunks ??= [first]).push(chunk);
    if (size > limit || (size >= FRAME_HEADER_BYTES && size === chunk.length && frameMessageLength(chunk, 0) > readMaxBytes)) {
      // Past what one message may take, or a header promising too much: answer now, read no more.
      answered = true;
      const body = chunks === undefined ? first : Buffer.concat(chunks);
      first = chunks = undefined;
      ledger.close();
      answer(stream, route, singleRequest(route, body, readMaxBytes, false), caller);
    }
  });
  stream.on("end", () => {
    if (answered) return;
    answered = true;
    const body = first === undefined ? Buffer.alloc(0) : chunks === undefined ? first : Buffer.concat(chunks);
    first = chunks = undefined;
    ledger.close();
    answer(stream, route, singleRequest(route, body, readMaxBytes, true), caller);
  });
  stream.once("close", () => ledger.close());
}
