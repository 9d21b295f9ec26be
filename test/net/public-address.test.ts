import { describe, expect, it } from "vitest";
import { isPublicAddress } from "../../src/net/public-address.js";

describe("isPublicAddress", () => {
  it.each(["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "::ffff:808:808"])(
    "%s is public",
    (ip) => expect(isPublicAddress(ip)).toBe(true),
  );

  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.1.2.3", "RFC 1918"],
    ["172.16.0.1", "RFC 1918"],
    ["172.31.255.255", "RFC 1918"],
    ["192.168.1.1", "RFC 1918"],
    ["169.254.169.254", "link-local (cloud metadata)"],
    ["100.64.0.1", "CGNAT"],
    ["100.127.255.254", "CGNAT"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "0.0.0.0/8"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.0.8", "IETF protocol assignments"],
    ["192.0.2.1", "documentation"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.7", "documentation"],
    ["198.18.0.1", "benchmarking"],
    ["::1", "IPv6 loopback"],
    ["::", "IPv6 unspecified"],
    ["fe80::1", "IPv6 link-local"],
    ["fe80::1%eth0", "IPv6 link-local with a zone"],
    ["fd00::1", "unique-local"],
    ["fc00::1", "unique-local"],
    ["ff02::1", "IPv6 multicast"],
    ["2001:db8::1", "IPv6 documentation"],
    ["fec0::1", "deprecated site-local"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
    ["::ffff:10.0.0.1", "IPv4-mapped private"],
    ["::ffff:169.254.169.254", "IPv4-mapped link-local"],
    ["::10.0.0.1", "IPv4-compatible private"],
    ["::8.8.8.8", "IPv4-compatible, whatever it carries"],
    ["::7f00:1", "IPv4-compatible loopback, hex"],
    ["64:ff9b::a00:1", "NAT64 of a private address"],
    ["64:ff9b::808:808", "NAT64, whatever it carries"],
    ["2002:a00:1::1", "6to4"],
    ["2001:0:a00:1::1", "Teredo"],
    ["0x7f.1", "loopback in another IPv4 notation"],
  ])("%s is not public (%s)", (ip) => expect(isPublicAddress(ip)).toBe(false));

  it.each(["", "localhost", "example.com", "1.2.3", "010.0.0.1", "[::1]", "::1/128", "8.8.8.8:80"])("%j is not an address, so not public", (text) =>
    expect(isPublicAddress(text)).toBe(false),
  );
});
