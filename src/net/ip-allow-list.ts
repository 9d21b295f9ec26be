import ipaddr from "ipaddr.js";

/**
 * IP addresses and allow-lists for Check. An allow-list is parsed once, when a key enters the
 * cache, into byte prefixes; a request then costs one address parse and a few byte compares.
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, `::ffff:a00:1`) are treated as the IPv4
 * address they carry, on both sides, so a dual-stack listener's peers match IPv4 CIDRs. That is
 * the only form that is the IPv4 address: the deprecated IPv4-compatible `::10.0.0.1` (RFC 4291
 * 2.5.5.1), and every other IPv6 address that embeds one, stay IPv6, so `10.0.0.0/8` never
 * admits them.
 */

export interface IpAddress {
  readonly version: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
}

interface Cidr {
  readonly version: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

// The longest textual IPv6 address with an embedded IPv4 part is 45 characters; allow a zone id.
const MAX_ADDRESS_LENGTH = 64;
const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/;

function fromIpv6(v6: ipaddr.IPv6): IpAddress {
  if (v6.isIPv4MappedAddress()) return { version: 4, bytes: Uint8Array.from(v6.toIPv4Address().octets) };
  return { version: 6, bytes: Uint8Array.from(v6.toByteArray()) };
}

/**
 * An IPv6 text whose trailing dotted IPv4 part (`…:10.0.0.1`) is rewritten as the two hex groups
 * it stands for (`…:a00:1`); null when that part is not a dotted quad. ipaddr.js never sees the
 * dotted form: it reads `::10.0.0.1` as `::ffff:10.0.0.1`, and accepts octets like `010` or `0x0a`.
 */
function withHexTail(text: string): string | null {
  const zoneAt = text.indexOf("%");
  const address = zoneAt < 0 ? text : text.slice(0, zoneAt);
  if (!address.includes(".")) return text;
  const lastColon = address.lastIndexOf(":");
  const quad = address.slice(lastColon + 1);
  if (!ipaddr.IPv4.isValidFourPartDecimal(quad)) return null;
  const [a, b, c, d] = ipaddr.IPv4.parse(quad).octets as [number, number, number, number];
  const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  return `${address.slice(0, lastColon + 1)}${hex}${zoneAt < 0 ? "" : text.slice(zoneAt)}`;
}

/** Parses a bare IPv4 (dotted quad only) or IPv6 address; null when it is not one. */
function parseAddress(text: string, allowZone: boolean): IpAddress | null {
  if (text.length === 0 || text.length > MAX_ADDRESS_LENGTH) return null;
  if (!text.includes(":")) {
    return ipaddr.IPv4.isValidFourPartDecimal(text) ? { version: 4, bytes: Uint8Array.from(ipaddr.IPv4.parse(text).octets) } : null;
  }
  if (!allowZone && text.includes("%")) return null;
  const v6 = withHexTail(text);
  if (v6 === null || !ipaddr.IPv6.isValid(v6)) return null;
  return fromIpv6(ipaddr.IPv6.parse(v6));
}

/**
 * The client address as a proxy reports it: a bare address, `1.2.3.4:5678`, `[2001:db8::1]:443`,
 * or an IPv6 address with a zone id. Null when nothing usable is there.
 */
export function parseClientIp(raw: string): IpAddress | null {
  if (raw.length > MAX_ADDRESS_LENGTH + 8) return null;
  let text = raw.trim();
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return null;
    text = text.slice(1, close);
  } else if (text.indexOf(":") !== -1 && text.indexOf(":") === text.lastIndexOf(":")) {
    // One colon: an IPv4 address with a port.
    text = text.slice(0, text.indexOf(":"));
  }
  return parseAddress(text, true);
}

function parseCidr(entry: string): Cidr | null {
  const text = entry.trim();
  const slash = text.indexOf("/");
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash), false);
  if (address === null) return null;
  const written = slash < 0 ? null : text.slice(slash + 1);
  if (written !== null && !PREFIX_LENGTH.test(written)) return null;
  const isMapped = address.version === 4 && text.includes(":");
  const declaredMax = address.version === 4 && !isMapped ? 32 : 128;
  const declared = written === null ? declaredMax : Number(written);
  if (declared > declaredMax) return null;
  if (!isMapped) return { version: address.version, bytes: address.bytes, prefixLength: declared };
  // `::ffff:10.0.0.0/104` is 10.0.0.0/8; a mapped prefix shorter than /96 covers more than the
  // mapped range and can only ever match IPv4 clients, so it widens to all of IPv4.
  return { version: 4, bytes: address.bytes, prefixLength: Math.max(0, declared - 96) };
}

/**
 * True when `entry` is an IPv4 or IPv6 address or CIDR that an allow-list accepts: a dotted-quad
 * IPv4 address or any IPv6 form (no zone id), optionally followed by `/0`..`/32` or `/0`..`/128`.
 */
export function isValidCidr(entry: string): boolean {
  return parseCidr(entry) !== null;
}

function contains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.version !== ip.version) return false;
  const whole = cidr.prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (cidr.bytes[i] !== ip.bytes[i]) return false;
  const rest = cidr.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((cidr.bytes[whole]! ^ ip.bytes[whole]!) & mask) === 0;
}

export class AllowList {
  /** True when the key has no allow-list: every address, even an unknown one, passes. */
  readonly isOpen: boolean;
  readonly #cidrs: readonly Cidr[];

  private constructor(isOpen: boolean, cidrs: readonly Cidr[]) {
    this.isOpen = isOpen;
    this.#cidrs = cidrs;
  }

  static parse(entries: readonly string[]): AllowList {
    const cidrs: Cidr[] = [];
    for (const entry of entries) {
      const cidr = parseCidr(entry);
      // The admin API validates entries; one that still fails here (written around the API)
      // is skipped, so a list of only such entries allows nothing rather than everyone.
      if (cidr !== null) cidrs.push(cidr);
    }
    return new AllowList(entries.length === 0, cidrs);
  }

  allows(ip: IpAddress | null): boolean {
    if (this.isOpen) return true;
    if (ip === null) return false;
    for (const cidr of this.#cidrs) if (contains(cidr, ip)) return true;
    return false;
  }
}
