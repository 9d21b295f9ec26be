import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkInput } from "../../src/authz/check-input.js";
import { compileRouteTable } from "../../src/authz/route-table.js";
import type { RouteRule } from "../../src/config/config.js";
import { envoyRequest } from "./check-harness.js";

/**
 * The route table's two promises, over random tables and paths:
 *  - another spelling of a path (escapes, hex case, raw UTF-8, doubled slashes, dot segments,
 *    parameters, invalid and double escapes, a trailing slash, a query) never reaches a rule the
 *    canonical spelling would not: it needs exactly what the canonical path needs, or it is rejected;
 *  - HEAD never needs less than GET, nor a request with a method override less than its own
 *    method or the overriding one ("less" includes "allowed where the other is not").
 */

const SEGMENTS = ["a", "b", "m", "ab", "x1", "A", "a%3Ab", "caf%C3%A9"] as const;
const METHODS = ["GET", "HEAD", "POST", "DELETE", "PURGE", "*"] as const;
const SCOPES = ["machines:read", "machines:write", "machines:delete", "tags:read", "data:ingest"] as const;

const rule: fc.Arbitrary<RouteRule> = fc.record({
  method: fc.constantFrom(...METHODS),
  path: fc
    .tuple(fc.array(fc.constantFrom(...SEGMENTS, "*", "**", "a*"), { minLength: 1, maxLength: 4 }), fc.constantFrom("", "/*", "*", "/"))
    .map(([segments, tail]) => `/${segments.join("/")}${tail}`),
  scopes: fc.uniqueArray(fc.constantFrom(...SCOPES), { maxLength: 2 }),
});

const table = fc
  .tuple(fc.array(rule, { minLength: 1, maxLength: 8 }), fc.boolean())
  .map(([rules, catchAll]) => compileRouteTable(catchAll ? [...rules, { method: "*", path: "/**", scopes: [] }] : rules));

const canonicalPath = fc
  .tuple(fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 4 }), fc.boolean())
  .map(([segments, trailing]) => `/${segments.join("/")}${trailing && segments.length > 0 ? "/" : ""}`);

const hex = (code: number, upper: boolean): string => {
  const digits = code.toString(16).padStart(2, "0");
  return `%${upper ? digits.toUpperCase() : digits.toLowerCase()}`;
};

/** A `%` that starts no escape: inserted at a segment's end, it is followed by `/` or nothing. */
const INVALID_ESCAPES = ["%", "%2", "%zz", "%g0", "%5"] as const;
/** What an upstream that decodes twice reads as `/`, `\`, `;`, NUL and `.`. */
const DOUBLE_ENCODED = [0x2f, 0x5c, 0x3b, 0x00, 0x2e] as const;

/** `%25` and the escape of `byte`, whose hex digits are written plain, or the first or both escaped too (`%25%32%46`). */
function doubleEncoded(byte: number, upper: boolean, escapedDigits: number): string {
  const digits = [...hex(byte, upper).slice(1)];
  return `%25${digits.map((digit, i) => (i < escapedDigits ? hex(digit.charCodeAt(0), upper) : digit)).join("")}`;
}

/** One way to write a character of the canonical path differently. */
type Respelling = (path: string, at: number, upper: boolean) => string;

const RESPELLINGS: Record<string, Respelling> = {
  // What normalisation undoes: the request must need what the canonical path needs.
  // A letter or digit, not one of an escape's hex digits (that would be another path).
  encodeUnreserved: (path, at, upper) => {
    const i = [...path].findIndex((c, j) => j >= at && /[A-Za-z0-9]/.test(c) && path[j - 1] !== "%" && path[j - 2] !== "%");
    return i < 0 ? path : path.slice(0, i) + hex(path.charCodeAt(i), upper) + path.slice(i + 1);
  },
  lowerCaseEscape: (path) => path.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
  rawNonAscii: (path) => path.replaceAll("%C3%A9", "é"),
  doubleSlash: (path, at) => {
    const i = path.indexOf("/", at % path.length);
    return i < 0 ? `/${path}` : `${path.slice(0, i)}/${path.slice(i)}`;
  },
  trailingSlash: (path) => (path.endsWith("/") ? path.slice(0, -1) || "/" : `${path}/`),
  query: (path, at) => `${path}?q=${at}/../;%2F`,
  fragment: (path) => `${path}#/../admin`,
  // What is rejected: the request must be rejected (or, when the spelling changes nothing, equal).
  dotSegment: (path, at) => insertSegment(path, at, "."),
  dotDotSegment: (path, at) => insertSegment(path, at, "x/.."),
  encodedDotSegment: (path, at, upper) => insertSegment(path, at, `${hex(0x2e, upper)}${hex(0x2e, !upper)}`),
  parameter: (path, at) => insertAfterSegment(path, at, ";v=1"),
  dotDotParameter: (path, at) => insertSegment(path, at, "..;"),
  encodedSlash: (path, at, upper) => replaceSlash(path, at, hex(0x2f, upper)),
  encodedBackslash: (path, at, upper) => replaceSlash(path, at, hex(0x5c, upper)),
  backslash: (path, at) => replaceSlash(path, at, "\\"),
  encodedNul: (path, at) => insertAfterSegment(path, at, "%00"),
  encodedSemicolon: (path, at, upper) => insertAfterSegment(path, at, hex(0x3b, upper)),
  invalidEscape: (path, at, upper) => insertAfterSegment(path, at, INVALID_ESCAPES[at % INVALID_ESCAPES.length]![upper ? "toUpperCase" : "toLowerCase"]()),
  doubleEncoded: (path, at, upper) => insertAfterSegment(path, at, doubleEncoded(DOUBLE_ENCODED[at % DOUBLE_ENCODED.length]!, upper, at % 3)),
};

const slashes = (path: string): number[] => [...path].flatMap((c, i) => (c === "/" ? [i] : []));

function insertSegment(path: string, at: number, segment: string): string {
  const positions = slashes(path);
  const i = positions[at % positions.length]!;
  return `${path.slice(0, i + 1)}${segment}/${path.slice(i + 1)}`;
}

function insertAfterSegment(path: string, at: number, text: string): string {
  const ends = [...slashes(path).slice(1), path.length];
  const i = ends[at % ends.length]!;
  return `${path.slice(0, i)}${text}${path.slice(i)}`;
}

function replaceSlash(path: string, at: number, text: string): string {
  const positions = slashes(path).slice(1);
  if (positions.length === 0) return `${path}${text}x`;
  const i = positions[at % positions.length]!;
  return `${path.slice(0, i)}${text}${path.slice(i + 1)}`;
}

const respelled = fc
  .tuple(canonicalPath, fc.array(fc.tuple(fc.constantFrom(...Object.keys(RESPELLINGS)), fc.nat({ max: 20 }), fc.boolean()), { minLength: 1, maxLength: 4 }))
  .map(([canonical, steps]) => ({
    canonical,
    steps: steps.map(([name]) => name),
    spelled: steps.reduce((path, [name, at, upper]) => RESPELLINGS[name]!(path, at, upper), canonical),
  }));

describe("route table properties", () => {
  it("no other spelling of a path reaches a rule its canonical spelling would not", () => {
    fc.assert(
      fc.property(table, respelled, fc.constantFrom("GET", "HEAD", "POST", "DELETE"), (routes, { canonical, spelled }, method) => {
        const options = { trustedProxyHops: 0, routes };
        const expected = checkInput(envoyRequest({}, { method, path: canonical }), options);
        const actual = checkInput(envoyRequest({}, { method, path: spelled }), options);
        expect(expected.pathRejected).toBe(false);
        if (!actual.pathRejected) expect(actual.requiredScopes).toEqual(expected.requiredScopes);
      }),
      { numRuns: 3_000 },
    );
  });

  it("normalisation alone never rejects: undone spellings need exactly the canonical path's scopes", () => {
    const undone = ["encodeUnreserved", "lowerCaseEscape", "rawNonAscii", "doubleSlash", "trailingSlash", "query", "fragment"];
    fc.assert(
      fc.property(table, canonicalPath, fc.array(fc.tuple(fc.constantFrom(...undone), fc.nat({ max: 20 }), fc.boolean()), { maxLength: 4 }), (routes, canonical, steps) => {
        const spelled = steps.reduce((path, [name, at, upper]) => RESPELLINGS[name]!(path, at, upper), canonical);
        const options = { trustedProxyHops: 0, routes };
        const actual = checkInput(envoyRequest({}, { path: spelled }), options);
        expect(actual.pathRejected).toBe(false);
        expect(actual.requiredScopes).toEqual(checkInput(envoyRequest({}, { path: canonical }), options).requiredScopes);
      }),
      { numRuns: 2_000 },
    );
  });

  it("each spelling the contract names is rejected", () => {
    const rejected = Object.keys(RESPELLINGS).filter(
      (name) => !["encodeUnreserved", "lowerCaseEscape", "rawNonAscii", "doubleSlash", "trailingSlash", "query", "fragment"].includes(name),
    );
    fc.assert(
      fc.property(table, canonicalPath, fc.constantFrom(...rejected), fc.nat({ max: 20 }), fc.boolean(), (routes, canonical, name, at, upper) => {
        const spelled = RESPELLINGS[name]!(canonical, at, upper);
        expect(checkInput(envoyRequest({}, { path: spelled }), { trustedProxyHops: 0, routes }).pathRejected, spelled).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  /** `a` needs at least what `b` needs: null (not allowed) needs more than anything. */
  const atLeast = (a: readonly string[] | null, b: readonly string[] | null): boolean => a === null || (b !== null && b.every((scope) => a.includes(scope)));

  it("HEAD never needs less than GET", () => {
    fc.assert(
      fc.property(table, canonicalPath, (routes, path) => {
        expect(atLeast(routes.scopesFor("HEAD", path), routes.scopesFor("GET", path))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it("a method override never needs less than the request's method or the overriding ones", () => {
    const override = fc.constantFrom("GET", "HEAD", "POST", "DELETE", "PURGE", "PATCH", "");
    fc.assert(
      fc.property(table, canonicalPath, fc.constantFrom(...METHODS.filter((m) => m !== "*")), fc.array(override, { minLength: 1, maxLength: 3 }), (routes, path, method, overrides) => {
        const needed = routes.scopesFor(method, path, overrides.join(","));
        expect(atLeast(needed, routes.scopesFor(method, path))).toBe(true);
        for (const other of overrides) if (other !== "") expect(atLeast(needed, routes.scopesFor(other, path))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
