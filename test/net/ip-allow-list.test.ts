import { describe, expect, it } from "vitest";
import { AllowList, isValidCidr, parseClientIp } from "../../src/net/ip-allow-list.js";

describe("isValidCidr", () => {
  it.each([
    "10.0.0.0/8",
    "10.0.0.1",
    "0.0.0.0/0",
    "192.168.0.0/23",
    "203.0.113.7/32",
    "10.1.2.3/31",
    "2001:db8::/32",
    "2001:db8::1",
    "::/0",
    "::1/128",
    "2001:db8::/127",
    "::ffff:10.0.0.0/104",
    "fe80::/10",
    "::10.0.0.0/104",
    "::ffff:a00:0/104",
  ])("accepts %s", (entry) => expect(isValidCidr(entry)).toBe(true));

  it.each([
    "",
    "10.0.0.0/33",
    "10.0.0.0/",
    "10.0.0.0/-1",
    "10.0.0.0/08",
    "10.0.0/8",
    "010.0.0.1",
    "256.0.0.1",
    "10.0.0.0/8/8",
    "0x0a.0.0.1",
    "2001:db8::/129",
    "2001:db8:::1",
    "fe80::1%eth0",
    "example.com",
    "10.0.0.0 /8",
    "1.2.3.4:80",
    "[::1]",
    // The IPv4 part of an IPv6 address is a dotted quad too: no octal-looking or hex octets.
    "::ffff:010.0.0.1",
    "::ffff:0x0a.0.0.1",
    "::ffff:10.0.1",
    "::10.0.0.1.2",
  ])("rejects %j", (entry) => expect(isValidCidr(entry)).toBe(false));
});

describe("parseClientIp", () => {
  it.each([
    ["10.1.2.3", "4:10.1.2.3"],
    [" 10.1.2.3 ", "4:10.1.2.3"],
    ["10.1.2.3:5678", "4:10.1.2.3"],
    ["[2001:db8::1]:443", "6:2001:db8::1"],
    ["[2001:db8::1]", "6:2001:db8::1"],
    ["2001:db8::1", "6:2001:db8::1"],
    ["fe80::1%eth0", "6:fe80::1"],
    ["::ffff:10.0.0.1", "4:10.0.0.1"],
    ["::FFFF:a00:1", "4:10.0.0.1"],
    ["::ffff:a00:1", "4:10.0.0.1"],
    ["[::ffff:10.0.0.1]:443", "4:10.0.0.1"],
    ["::ffff:10.0.0.1%eth0", "4:10.0.0.1"],
    // IPv4-compatible (deprecated, RFC 4291 2.5.5.1): an IPv6 address, not the IPv4 one.
    ["::10.0.0.1", "6:::a00:1"],
    ["[::10.0.0.1]:443", "6:::a00:1"],
    ["::10.0.0.1%eth0", "6:::a00:1"],
    ["0:0:0:0:0:0:10.0.0.1", "6:::a00:1"],
    ["::ffff:0:10.0.0.1", "6:::ffff:0:a00:1"],
  ])("%j → %s", (raw, expected) => {
    const ip = parseClientIp(raw);
    expect(ip).not.toBeNull();
    const text = ip!.version === 4 ? [...ip!.bytes].join(".") : undefined;
    if (text !== undefined) expect(`4:${text}`).toBe(expected);
    else expect(parseClientIp(expected.slice(2))).toEqual(ip);
  });

  it.each(["", "unknown", "10.1.2", "300.1.1.1", "[::1", "1.2.3.4:5:6", "x".repeat(10_000), "\u0000", "::ffff:010.0.0.1", "::10.0.0.256", "10.0.0.1::"])("%j → null", (raw) => {
    expect(parseClientIp(raw)).toBeNull();
  });
});

describe("AllowList", () => {
  const ip = (text: string) => parseClientIp(text);

  it.each([
    [["10.0.0.0/8"], "10.255.0.1", true],
    [["10.0.0.0/8"], "11.0.0.1", false],
    [["192.168.0.0/23"], "192.168.1.255", true],
    [["192.168.0.0/23"], "192.168.2.0", false],
    [["10.1.2.3/31"], "10.1.2.2", true],
    [["10.1.2.3/31"], "10.1.2.4", false],
    [["10.0.0.1"], "10.0.0.1", true],
    [["10.0.0.1"], "10.0.0.2", false],
    [["0.0.0.0/0"], "203.0.113.9", true],
    [["0.0.0.0/0"], "2001:db8::1", false],
    [["::/0"], "2001:db8::1", true],
    [["::/0"], "10.0.0.1", false],
    [["10.0.0.0/8"], "::ffff:10.0.0.1", true],
    [["::ffff:10.0.0.0/104"], "10.9.9.9", true],
    [["::ffff:10.0.0.0/104"], "11.0.0.1", false],
    [["2001:db8::/32"], "2001:db8:ffff::1", true],
    [["2001:db8::/33"], "2001:db8:8000::1", false],
    [["2001:db8::/127"], "2001:db8::1", true],
    [["2001:db8::/127"], "2001:db8::2", false],
    [["2001:db8::1"], "2001:db8::1", true],
    [["203.0.113.0/24", "2001:db8::/48"], "2001:db8:0:1::1", true],
    // IPv4-mapped, dotted or hex, is the IPv4 address; IPv4-compatible (::a.b.c.d) is not.
    [["10.0.0.0/8"], "::ffff:a00:1", true],
    [["10.0.0.1"], "::ffff:10.0.0.1", true],
    [["::ffff:a00:0/104"], "10.0.0.1", true],
    [["::ffff:10.0.0.1"], "10.0.0.1", true],
    [["10.0.0.0/8"], "::10.0.0.1", false],
    [["10.0.0.1"], "::10.0.0.1", false],
    [["10.0.0.0/8"], "::a00:1", false],
    [["::10.0.0.0/104"], "10.0.0.1", false],
    [["::10.0.0.1"], "10.0.0.1", false],
    [["::10.0.0.1"], "::ffff:10.0.0.1", false],
    [["::ffff:10.0.0.0/104"], "::10.0.0.1", false],
    [["::10.0.0.0/104"], "::10.9.9.9", true],
    [["::10.0.0.0/104"], "::a09:909", true],
    [["::a00:0/104"], "::10.0.0.1", true],
    [["::10.0.0.1"], "::10.0.0.1", true],
    [["::/96"], "::10.0.0.1", true],
    [["::/96"], "10.0.0.1", false],
    [["0.0.0.0/0"], "::10.0.0.1", false],
  ] as const)("%j allows %s: %s", (entries, address, expected) => {
    expect(AllowList.parse(entries).allows(ip(address))).toBe(expected);
  });

  it("an empty list allows every address, even an unknown one", () => {
    const list = AllowList.parse([]);
    expect(list.isOpen).toBe(true);
    expect(list.allows(null)).toBe(true);
    expect(list.allows(ip("2001:db8::1"))).toBe(true);
  });

  it("a non-empty list denies an unknown address", () => {
    expect(AllowList.parse(["0.0.0.0/0", "::/0"]).allows(null)).toBe(false);
  });

  it("a list of only invalid entries (written around the API) allows nothing", () => {
    const list = AllowList.parse(["not-a-cidr", "10.0.0.0/99"]);
    expect(list.isOpen).toBe(false);
    expect(list.allows(ip("10.0.0.1"))).toBe(false);
  });
});
