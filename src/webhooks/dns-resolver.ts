import { Resolver as DnsResolver } from "node:dns/promises";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves an absolute host name (with its trailing dot) to every address it has; none, or a
 * rejection, when it has none.
 */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface DnsResolverOptions {
  /** Per try; a name server that drops queries costs at most about timeoutMs × tries. */
  timeoutMs?: number;
  tries?: number;
  /** The name servers (`address[:port]`); the host's by default. */
  servers?: string[];
}

/**
 * Webhook targets' names, asked of DNS (c-ares) for their A and AAAA records at once, taking
 * whichever there are. Not dns.lookup: that runs getaddrinfo on libuv's thread pool (4 threads),
 * which a name server that drops queries would tie up past any deadline of ours, stalling MongoDB
 * connections and file access with it; c-ares needs no thread and gives up after `tries`.
 * /etc/hosts is not read, so `localhost` is no target name (127.0.0.1 is, where allowed).
 */
export function dnsResolver(options: DnsResolverOptions = {}): Resolver {
  const dns = new DnsResolver({ timeout: options.timeoutMs ?? 2000, tries: options.tries ?? 2 });
  if (options.servers) dns.setServers(options.servers);
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([dns.resolve4(hostname), dns.resolve6(hostname)]);
    return [
      ...(v4.status === "fulfilled" ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === "fulfilled" ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
  };
}
