import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { parseClientIp } from "./ip-allow-list.js";

/**
 * Whether an IP address is one a webhook may be sent to: a public unicast address. Webhook
 * targets are chosen by tenants, so an address inside keygate's own network (loopback, RFC 1918,
 * link-local with the cloud metadata service at 169.254.169.254, unique-local, CGNAT) would let a
 * tenant make keygate call services no tenant should reach (server-side request forgery).
 *
 * ipaddr.js names every special-purpose range (`range()`); only `unicast` is public. An IPv6
 * address that carries an IPv4 address is judged by what it reaches:
 *  - IPv4-mapped `::ffff:a.b.c.d` is that IPv4 address (a dual-stack socket reports IPv4 peers
 *    so), public only when the IPv4 address is (parseClientIp reads it as the IPv4 address, and
 *    reads the IPv4-compatible `::a.b.c.d` as the IPv6 address it is, which ipaddr.js does not);
 *  - the deprecated IPv4-compatible `::/96` (RFC 4291 2.5.5.1), which ipaddr.js calls unicast,
 *    and NAT64 `64:ff9b::/96` (rfc6052), 6to4 and Teredo, which lead to an IPv4 address a
 *    gateway chooses, are refused whatever they carry.
 * Only a bare address in its standard notation (node:net's isIP) is one: anything else, such as
 * `0x7f.1`, a name or an address with a port, is not public.
 */

const IPV4_COMPATIBLE = ipaddr.IPv6.parse("::");
const IPV4_COMPATIBLE_PREFIX = 96;

export function isPublicAddress(ip: string): boolean {
  if (isIP(ip) === 0) return false;
  const parsed = parseClientIp(ip);
  if (parsed === null) return false;
  const address = ipaddr.fromByteArray([...parsed.bytes]);
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).match(IPV4_COMPATIBLE, IPV4_COMPATIBLE_PREFIX)) return false;
  return address.range() === "unicast";
}
