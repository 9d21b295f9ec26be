import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/** The TCP peer of an RPC (the admin API's throttling source), set by the HTTP server per request. */
export const peerAddressKey = createContextKey<string>("unknown", { description: "TCP peer address" });

/** Context values for connectNodeAdapter: the request's TCP peer address. */
export function peerContextValues(req: IncomingMessage | Http2ServerRequest): ContextValues {
  return createContextValues().set(peerAddressKey, req.socket?.remoteAddress ?? "unknown");
}
