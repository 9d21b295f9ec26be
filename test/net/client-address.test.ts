import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { clientAddress, TrustedProxies } from "../../src/net/client-address.js";
import type { IpAddress } from "../../src/net/ip-allow-list.js";

/**
 * Which address the admin API throttles by: X-Forwarded-For only from a trusted proxy, read from
 * the right past the trusted proxies; everything else, and anything malformed, is the TCP peer.
 */

const text = (ip: IpAddress | null): string | null =>
  ip === null ? null : ip.version === 4 ? ip.bytes.join(".") : ipaddr.fromByteArray([...ip.bytes]).toString();

const nobody = new TrustedProxies([]);
const proxies = new TrustedProxies(["10.0.0.0/8", "fd00::/8", "192.0.2.1"]);

describe("clientAddress", () => {
  it("is the TCP peer when no proxy is trusted, whatever the header says", () => {
    expect(text(clientAddress("203.0.113.9", undefined, nobody))).toBe("203.0.113.9");
    expect(text(clientAddress("10.0.0.1", "198.51.100.7", nobody))).toBe("10.0.0.1");
    expect(text(clientAddress("::ffff:127.0.0.1", "198.51.100.7", nobody))).toBe("127.0.0.1");
    expect(clientAddress(undefined, "198.51.100.7", nobody)).toBeNull();
  });

  it("ignores a spoofed header from a peer that is not a trusted proxy", () => {
    expect(text(clientAddress("203.0.113.9", "198.51.100.7", proxies))).toBe("203.0.113.9");
    expect(text(clientAddress("11.0.0.1", "10.0.0.2, 198.51.100.7", proxies))).toBe("11.0.0.1");
    expect(text(clientAddress("2001:db8::1", "198.51.100.7", proxies))).toBe("2001:db8::1");
    // IPv4-compatible IPv6 (deprecated) is not the IPv4 address 10.0.0.5 of a trusted proxy.
    expect(text(clientAddress("::10.0.0.5", "198.51.100.7", proxies))).toBe("::a00:5");
    expect(text(clientAddress("10.0.0.1", "198.51.100.7, ::10.0.0.7", proxies))).toBe("::a00:7");
  });

  it.each([
    ["one proxy", "10.0.0.1", "203.0.113.9", "203.0.113.9"],
    ["a chain of trusted proxies", "10.0.0.1", "203.0.113.9, 10.0.0.7, 192.0.2.1", "203.0.113.9"],
    ["the client's own claims left of it are never read", "10.0.0.1", "6.6.6.6, not an address, 203.0.113.9, 10.0.0.7", "203.0.113.9"],
    ["the right-most untrusted entry wins over those left of it", "10.0.0.1", "198.51.100.1, 198.51.100.2", "198.51.100.2"],
    ["every entry a trusted proxy: the left-most", "10.0.0.1", "10.0.0.9, 10.0.0.7", "10.0.0.9"],
    ["an IPv4 entry with a port", "10.0.0.1", "203.0.113.9:51234", "203.0.113.9"],
    ["an IPv4-mapped IPv6 peer", "::ffff:10.0.0.1", "203.0.113.9", "203.0.113.9"],
    ["IPv6 proxies and client", "fd00::1", "2001:db8::7, fd00::2", "2001:db8::7"],
    ["a bracketed IPv6 entry with a port", "fd00::1", "[2001:db8::7]:443", "2001:db8::7"],
    ["an IPv6 proxy reporting an IPv4 client", "fd00::1", "203.0.113.9", "203.0.113.9"],
  ])("behind trusted proxies: %s", (_case, peer, forwardedFor, client) => {
    expect(text(clientAddress(peer, forwardedFor, proxies))).toBe(client);
  });

  it("joins repeated header lines in order", () => {
    expect(text(clientAddress("10.0.0.1", ["6.6.6.6", "203.0.113.9, 10.0.0.7"], proxies))).toBe("203.0.113.9");
  });

  it.each([
    ["no header", undefined],
    ["an empty header", ""],
    ["not an address", "garbage"],
    ["an empty entry on the way", "203.0.113.9, , 10.0.0.7"],
    ["an address out of range", "300.1.1.1"],
    ["a CIDR", "203.0.113.0/24"],
    ["RFC 7239's unknown", "unknown"],
    ["an unclosed bracket", "[2001:db8::7"],
    ["an overlong entry", "1".repeat(500)],
  ])("falls back to the trusted peer on %s", (_case, forwardedFor) => {
    expect(text(clientAddress("10.0.0.1", forwardedFor, proxies))).toBe("10.0.0.1");
  });
});
