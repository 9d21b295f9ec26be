import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { AllowList, parseClientIp, type IpAddress } from "./ip-allow-list.js";

/**
 * The client address of an RPC, the admin API's throttling source: the TCP peer, or, when the
 * peer is a trusted reverse proxy (KEYGATE_TRUSTED_PROXIES), the address the proxies report in
 * X-Forwarded-For. Behind a proxy every client would otherwise share the proxy's budget.
 */
export const clientAddressKey = createContextKey<IpAddress | null>(null, { description: "client address" });

/** The reverse proxies whose X-Forwarded-For keygate believes: peers inside these CIDRs. */
export class TrustedProxies {
  /** Undefined when none is configured: an empty AllowList would let every address in. */
  readonly #cidrs: AllowList | undefined;

  /** `cidrs` are validated already (config.ts). */
  constructor(cidrs: readonly string[]) {
    this.#cidrs = cidrs.length === 0 ? undefined : AllowList.parse(cidrs);
  }

  includes(ip: IpAddress | null): boolean {
    return ip !== null && this.#cidrs !== undefined && this.#cidrs.allows(ip);
  }
}

/**
 * The client address of a request from `peer`. Each proxy appends the address it received the
 * request from, so reading X-Forwarded-For from the right, past the trusted proxies, the first
 * other address is the client (the left-most entry when all of them are trusted proxies).
 * Entries further left are whatever the client wrote and are never read. The header counts only
 * when the peer is a trusted proxy; when it is missing, or an entry on the way is not an address,
 * the peer it is.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, proxies: TrustedProxies): IpAddress | null {
  const peerIp = peer === undefined ? null : parseClientIp(peer);
  if (forwardedFor === undefined || !proxies.includes(peerIp)) return peerIp;
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",");
  let client: IpAddress | null = null;
  for (let i = entries.length - 1; i >= 0; i--) {
    client = parseClientIp(entries[i]!);
    if (client === null) return peerIp;
    if (!proxies.includes(client)) return client;
  }
  return client;
}

/** Context values for connectNodeAdapter: the request's client address. */
export function clientContextValues(proxies: TrustedProxies): (req: IncomingMessage | Http2ServerRequest) => ContextValues {
  return (req) => createContextValues().set(clientAddressKey, clientAddress(req.socket?.remoteAddress, req.headers["x-forwarded-for"], proxies));
}
