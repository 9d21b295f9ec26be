/**
 * The request path as Check reads it, from the request target Envoy sends (`:path`, query and
 * all). Two questions, each answered by one pass over the characters, with nothing allocated for
 * a plain path:
 *  - isAmbiguousPath: does the path hold a spelling that the servers behind Envoy read in
 *    different ways? Those are what route-table bypasses are made of, so with a route table a
 *    request spelled so is rejected (PATH_REJECTED) rather than guessed at.
 *  - normalizePath: the one spelling of everything else, which route rules are matched against.
 */

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;
const PERCENT = 0x25;
const DOT = 0x2e;
const NUL = 0x00;
const QUESTION = 0x3f;
const HASH = 0x23;

/** Where the path ends: at the query or fragment, else the end. */
function pathEnd(target: string): number {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === QUESTION || c === HASH) return i;
  }
  return target.length;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** The byte a `%XX` escape at `i` stands for, or -1 when there is none. */
function escapedByte(target: string, i: number, end: number): number {
  if (i + 2 >= end) return -1;
  const high = hexDigit(target.charCodeAt(i + 1));
  const low = hexDigit(target.charCodeAt(i + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

/**
 * How many characters a dot takes at `i` (`.` is 1, `%2e` 3), 0 when there is none: an encoded
 * dot is a dot to every server that decodes before it resolves.
 */
function dotAt(target: string, i: number, end: number): number {
  if (i >= end) return 0;
  const c = target.charCodeAt(i);
  if (c === DOT) return 1;
  return c === PERCENT && escapedByte(target, i, end) === DOT ? 3 : 0;
}

/** Whether the segment starting at `start` is `.` or `..`, however spelled. */
function isDotSegment(target: string, start: number, end: number): boolean {
  let i = start;
  for (let dots = 1; dots <= 2; dots++) {
    const width = dotAt(target, i, end);
    if (width === 0) return false;
    i += width;
    if (i === end || target.charCodeAt(i) === SLASH) return true;
  }
  return false;
}

/** The byte that an escape-decoding pass reads at `i` (a `%XX` escape or the character itself), or -1 for an invalid escape. */
function decodedAt(target: string, i: number, end: number): number {
  if (i >= end) return -1;
  const c = target.charCodeAt(i);
  return c === PERCENT ? escapedByte(target, i, end) : c;
}

/** Whether `byte` is one the screen rejects when it arrives encoded: `/`, `\`, `;` or NUL. */
const isEncodedReserved = (byte: number): boolean => byte === SLASH || byte === BACKSLASH || byte === SEMICOLON || byte === NUL;

/**
 * Whether the `%25` (an encoded `%`) at `i` starts a double encoding of `/`, `\`, `;`, NUL or `.`:
 * `%252F`, and also `%25%32%46`, whose hex digits are themselves escaped. One decoding pass turns
 * it into `%2F`, so an upstream that decodes twice (a proxy and then a framework, say) reads the
 * character itself, past a screen that only ever saw an encoded `%`.
 */
function isDoubleEncodedReserved(target: string, i: number, end: number): boolean {
  const highAt = i + 3;
  const high = hexDigit(decodedAt(target, highAt, end));
  if (high < 0) return false;
  const low = hexDigit(decodedAt(target, highAt + (target.charCodeAt(highAt) === PERCENT ? 3 : 1), end));
  if (low < 0) return false;
  const byte = high * 16 + low;
  return isEncodedReserved(byte) || byte === DOT;
}

/**
 * True when the path holds what the contract rejects: a `;` parameter (`/admin;x=1`, `/..;/`), an
 * encoded `/`, `\`, `;` or NUL, a backslash or NUL, or a `.`/`..` segment (also as `%2e`). Envoy's
 * own `normalize_path` resolves dot segments before ext_authz, so one that still reaches keygate is
 * one nobody resolved, and keygate does not guess how the upstream will. An encoded `;` is
 * rejected with the rest: servers that decode before they cut parameters read it as one.
 * Two more spellings are read differently by different servers, so they are rejected too:
 *  - a `%` that starts no valid escape (`%zz`, `%2`, a trailing `%`): some decoders keep it, some
 *    drop it, some fail, and some take the next characters whatever they are;
 *  - a double-encoded `/`, `\`, `;`, NUL or `.` (`%252F`, see isDoubleEncodedReserved). No client
 *    needs one: a literal dot is sent as `.`, and the others are rejected once encoded anyway.
 * Only the path is screened; the query and fragment are not part of it.
 */
export function isAmbiguousPath(target: string): boolean {
  const end = pathEnd(target);
  for (let i = 0; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c === SEMICOLON || c === BACKSLASH || c === NUL) return true;
    if (c === PERCENT) {
      const byte = escapedByte(target, i, end);
      if (byte < 0 || isEncodedReserved(byte)) return true;
      if (byte === PERCENT && isDoubleEncodedReserved(target, i, end)) return true;
    } else if (c === SLASH && isDotSegment(target, i + 1, end)) {
      return true;
    }
  }
  return false;
}

const isUnreserved = (byte: number): boolean =>
  (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === DOT || byte === 0x5f || byte === 0x7e;

const ESCAPE = /%[0-9a-fA-F]{2}/g;
const UNPRINTABLE_RUN = /[^\x21-\x7e]+/g;

/** Whether the path holds a character outside printable ASCII (raw UTF-8, spaces, controls). */
function hasUnprintable(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return true;
  }
  return false;
}

/** A run of such characters as the escapes of its UTF-8 bytes, as a client would have sent it. */
const escapeRun = (run: string): string => {
  let escaped = "";
  for (const byte of Buffer.from(run, "utf8")) escaped += `%${byte < 0x10 ? "0" : ""}${byte.toString(16).toUpperCase()}`;
  return escaped;
};

/** RFC 3986 6.2.2: escapes of unreserved characters decoded, the others' hex digits upper-cased. */
const canonicalEscape = (escape: string): string => {
  const byte = parseInt(escape.slice(1), 16);
  return isUnreserved(byte) ? String.fromCharCode(byte) : escape.toUpperCase();
};

/**
 * The path as scopes are matched against it: query and fragment cut off, escapes in one spelling
 * (see canonicalEscape; raw non-ASCII as its escapes), repeated slashes merged and `.`/`..`
 * segments resolved, so `//admin/./keys`, `/%61dmin/keys`, `/a%3ab` or `/café` cannot slip past a
 * rule written for `/admin/keys`, `/a%3Ab` or `/caf%C3%A9`. (With a route table, dot segments
 * never get here: isAmbiguousPath rejects them.)
 * A target that is not origin-form (`*`, `http://…`) is returned without query, unchanged.
 */
export function normalizePath(target: string): string {
  let path = target.slice(0, pathEnd(target));
  if (!path.startsWith("/")) return path;
  if (hasUnprintable(path)) path = path.replace(UNPRINTABLE_RUN, escapeRun);
  if (path.includes("%")) path = path.replace(ESCAPE, canonicalEscape);
  if (!path.includes("//") && !path.includes("/.")) return path;
  const out: string[] = [];
  const segments = path.split("/");
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  const last = segments[segments.length - 1];
  const trailingSlash = out.length > 0 && (last === "" || last === "." || last === "..");
  return `/${out.join("/")}${trailingSlash ? "/" : ""}`;
}
