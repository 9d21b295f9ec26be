import http2 from "node:http2";
import type { BodyBudget } from "./body-budget.js";
import type { DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

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
 */

/** How the lean path serves one method: who may call, its own decoding, and an answer in wire bytes. */
export interface UnaryHandler<Request, Caller = undefined> {
  /**
   * The caller, from the call's headers and TCP peer, before any of its body is read; a
   * ConnectError refuses the call at once, unread (the data plane's boundary,
   * src/server/data-plane-boundary.ts). Without it every caller is admitted as undefined.
   */
  admit?(headers: http2.IncomingHttpHeaders, peer: string | undefined): Caller | ConnectError;
  /** Request message bytes to the request; throws a ConnectError (internal, "parse binary: …") when they do not parse. */
  decode(bytes: Uint8Array): Request;
  /** The response message's bytes, maybe synchronously; throws or rejects with a ConnectError for an RPC error. */
  call(request: Request, caller: Caller): Uint8Array | Promise<Uint8Array>;
}

export interface UnaryRoute {
  /** `/package.Service/Method`. */
  readonly path: string;
  admit(headers: http2.IncomingHttpHeaders, peer: string | undefined): unknown;
  decode(bytes: Uint8Array): unknown;
  call(request: unknown, caller: unknown): Uint8Array | Promise<Uint8Array>;
}

const routesByRouter = new WeakMap<ConnectRouter, Map<string, UnaryRoute>>();

/**
 * Also serves `method`, already registered on `router` for Connect's protocols, on the lean gRPC
 * path of the HttpServer that owns the router.
 */
export function serveUnaryFast<Request, Caller = undefined>(router: ConnectRouter, method: DescMethodUnary, handler: UnaryHandler<Request, Caller>): void {
  const route: UnaryRoute = {
    path: `/${method.parent.typeName}/${method.name}`,
    admit: (headers, peer) => (handler.admit === undefined ? undefined : handler.admit(headers, peer)),
    decode: (bytes) => handler.decode(bytes),
    call: (request, caller) => handler.call(request as Request, caller as Caller),
  };
  let routes = routesByRouter.get(router);
  if (routes === undefined) routesByRouter.set(router, (routes = new Map()));
  routes.set(route.path, route);
}

/** The routes registered with serveUnaryFast on this router (empty when none). */
export function unaryRoutesOf(router: ConnectRouter): ReadonlyMap<string, UnaryRoute> {
  return routesByRouter.get(router) ?? new Map();
}

const GRPC_CONTENT_TYPE = /^application\/grpc(?:\+proto)?$/i;
const GRPC_TIMEOUT = /^\d{1,8}[HMSmun]$/;

/** The route for a stream this path should take, or undefined to leave it to Connect. */
export function unaryRouteFor(routes: ReadonlyMap<string, UnaryRoute>, headers: http2.IncomingHttpHeaders): UnaryRoute | undefined {
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

const ENVELOPE_HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0b1;

/**
 * The one request of a unary call's body, decoded, or the error Connect's gRPC handler gives for
 * the body, checked in Connect's order: envelope sizes, then each message in turn (compression
 * flag, parse), then "extra message". `complete` is false when the body was cut off because it
 * grew past what one message may take (so there is more than one).
 */
function singleRequest(route: UnaryRoute, body: Buffer, readMaxBytes: number, complete: boolean): unknown {
  const messages: Array<{ flags: number; data: Uint8Array }> = [];
  let offset = 0;
  while (body.length - offset >= ENVELOPE_HEADER_BYTES && messages.length < 2) {
    const length = body.readUInt32BE(offset + 1);
    if (length > readMaxBytes) {
      return new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
    }
    if (body.length - offset - ENVELOPE_HEADER_BYTES < length) break;
    messages.push({ flags: body[offset]!, data: body.subarray(offset + ENVELOPE_HEADER_BYTES, offset + ENVELOPE_HEADER_BYTES + length) });
    offset += ENVELOPE_HEADER_BYTES + length;
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

function respond(stream: http2.ServerHttp2Stream, message: Uint8Array | null, trailers: http2.OutgoingHttpHeaders): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers(trailers));
  if (message === null) {
    stream.end();
    return;
  }
  const frame = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, ENVELOPE_HEADER_BYTES);
  stream.end(frame);
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

/**
 * Admits the caller of a stream unaryRouteFor chose, reads its request body, calls the route and
 * answers. The bytes held until the body ends count in `bodies`; a stream the budget evicts is
 * reset (ENHANCE_YOUR_CALM) and what it sent dropped.
 */
export function serveUnaryStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  route: UnaryRoute,
  readMaxBytes: number,
  bodies: BodyBudget,
): void {
  // A client reset or a broken connection: nobody is left to answer.
  stream.on("error", () => {});
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
  const limit = readMaxBytes + 2 * ENVELOPE_HEADER_BYTES;
  stream.on("data", (chunk: Buffer) => {
    if (answered || !ledger.hold(chunk.length)) return;
    size += chunk.length;
    if (first === undefined) first = chunk;
    else (chunks ??= [first]).push(chunk);
    if (size > limit || (size >= ENVELOPE_HEADER_BYTES && size === chunk.length && chunk.readUInt32BE(1) > readMaxBytes)) {
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
