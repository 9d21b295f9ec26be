import type http2 from "node:http2";
import type { DescMethodUnary } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";

/**
 * A hot unary gRPC method as a service hands it to the server's lean gRPC path
 * (src/server/grpc-unary.ts, HttpServerOptions.unaryRoutes): the service brings its own decoding
 * and answers in wire bytes, and the server does only what a unary gRPC call needs around them.
 * The method stays registered on Connect's router too, for every call the lean path leaves to
 * Connect (gRPC-Web, Connect, JSON, compression).
 */

/** How the lean path serves one method: who may call, its own decoding, and an answer in wire bytes. */
export interface UnaryHandler<Request, Caller = undefined> {
  /**
   * The caller, from the call's headers and TCP peer, before any of its body is read; a
   * ConnectError refuses the call at once, unread (the data plane's boundary,
   * src/rpc/data-plane-caller.ts). Without it every caller is admitted as undefined.
   */
  admit?(headers: http2.IncomingHttpHeaders, peer: string | undefined): Caller | ConnectError;
  /** Request message bytes to the request; throws a ConnectError (internal, "parse binary: …") when they do not parse. */
  decode(bytes: Uint8Array): Request;
  /** The response message's bytes, maybe synchronously; throws or rejects with a ConnectError for an RPC error. */
  call(request: Request, caller: Caller): Uint8Array | Promise<Uint8Array>;
}

/** A UnaryHandler at its path, its types erased so the server can hold routes of several methods. */
export interface UnaryRoute {
  /** `/package.Service/Method`. */
  readonly path: string;
  admit(headers: http2.IncomingHttpHeaders, peer: string | undefined): unknown;
  decode(bytes: Uint8Array): unknown;
  call(request: unknown, caller: unknown): Uint8Array | Promise<Uint8Array>;
}

/** `method` served on the lean gRPC path by `handler`. */
export function unaryRoute<Request, Caller = undefined>(method: DescMethodUnary, handler: UnaryHandler<Request, Caller>): UnaryRoute {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    admit: (headers, peer) => (handler.admit === undefined ? undefined : handler.admit(headers, peer)),
    decode: (bytes) => handler.decode(bytes),
    call: (request, caller) => handler.call(request as Request, caller as Caller),
  };
}
