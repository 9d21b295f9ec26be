import { parseCost, parseLimitNames } from "../config/route-spend.js";
import type { Spend } from "../limits/check-limits.js";
import { parseClientIp, type IpAddress } from "../net/ip-allow-list.js";
import { isAmbiguousPath, normalizePath } from "../net/request-path.js";
import type { RouteTable } from "./route-table.js";

/**
 * Step one of Check: CheckRequest → input. Pure and total: any request, however malformed,
 * yields an input (a missing key, no client address, an empty path...), never an exception.
 * Work is bounded by the few headers read, whatever else the request carries.
 */

export type KeyHeader = "x-api-key" | "authorization";

export type PresentedKey =
  | { readonly kind: "missing" }
  /** `secret` is what was presented, not yet checked: it may be garbage of any length. */
  | { readonly kind: "presented"; readonly secret: string; readonly header: KeyHeader };

export interface CheckInput {
  readonly key: PresentedKey;
  /**
   * Headers an allowed request loses before it goes upstream: the one the key came from, and
   * authorization too when it also carries a keygate secret (a client sending the key twice), so
   * no upstream ever sees a secret. Shared constant arrays: never mutate.
   */
  readonly headersToRemove: readonly string[];
  /** Null when the address is absent or does not parse: only keys without an allow-list pass. */
  readonly clientIp: IpAddress | null;
  /** Upper-cased; empty when Envoy sent none. */
  readonly method: string;
  /** Normalized path without query or fragment (see normalizePath). */
  readonly path: string;
  /**
   * The request needs scopes (Envoy's route names them, or a route table is configured) and its
   * path is spelled ambiguously (see isAmbiguousPath): it is denied before anything else is
   * looked at.
   */
  readonly pathRejected: boolean;
  /**
   * Null when a route table is configured and none of its rules allows this request;
   * UNKNOWN_SCOPES when Envoy's route names the scopes, no table is configured, and a
   * method-override header names another method: nobody configured what that method needs.
   */
  readonly requiredScopes: readonly string[] | null | typeof UNKNOWN_SCOPES;
  /**
   * What the request spends on the key's limits (its identity left to the decision): Envoy's
   * route's `cost` and `limits` where it sends them, else the route table's rule's, else cost 1
   * on every limit. Null when Envoy's route sends a malformed one: an operator's error in Envoy's
   * configuration, which the decision refuses as ROUTE_NOT_ALLOWED (docs/limits.md).
   */
  readonly spend: Spend | null;
  /** x-request-id, for logs; at most 128 characters. */
  readonly requestId: string;
  /** Request size when Envoy knows it (http.size, else content-length). */
  readonly requestBytes: number | undefined;
}

/**
 * The parts of a CheckRequest that Check reads. A CheckRequest decoded by protobuf-es has them;
 * so has the lean decoder's result (check-request-decoder.ts), which builds nothing else.
 */
export interface CheckRequestFields {
  readonly attributes?:
    | {
        readonly source?: { readonly address?: { readonly address: AddressFields } | undefined } | undefined;
        readonly request?: { readonly http?: HttpRequestFields | undefined } | undefined;
        readonly contextExtensions: { readonly [key: string]: string };
      }
    | undefined;
}

type AddressFields =
  | { readonly case: "socketAddress"; readonly value: { readonly address: string } }
  | { readonly case: "pipe" | "envoyInternalAddress" | undefined };

export interface HttpRequestFields {
  readonly id: string;
  readonly method: string;
  /** May hold only the WANTED_HEADERS: nothing else is read from it. */
  readonly headers: { readonly [key: string]: string };
  readonly path: string;
  readonly size: bigint;
  readonly headerMap?: { readonly headers: readonly { readonly key: string; readonly value: string; readonly rawValue: Uint8Array }[] } | undefined;
}

export interface InputOptions {
  /** Use the Nth x-forwarded-for entry from the right as the client address (0: the TCP peer). */
  trustedProxyHops: number;
  routes: RouteTable;
}

/** Scopes nobody configured, so no key holds them (see CheckInput.requiredScopes). */
export const UNKNOWN_SCOPES: unique symbol = Symbol("unknown scopes");

const MISSING: PresentedKey = Object.freeze({ kind: "missing" });
const REMOVE_NONE: readonly string[] = Object.freeze([]);
const NO_SCOPES: readonly string[] = Object.freeze([]);
const REMOVE_API_KEY: readonly string[] = Object.freeze(["x-api-key"]);
const REMOVE_AUTHORIZATION: readonly string[] = Object.freeze(["authorization"]);
const REMOVE_BOTH: readonly string[] = Object.freeze(["x-api-key", "authorization"]);
const SECRET_MARK = /sk_(live|test)_/;
/** Secrets are 54 characters; anything far longer is presented-but-malformed without parsing. */
const MAX_CREDENTIAL_LENGTH = 4096;
const MAX_METHOD_LENGTH = 32;
const MAX_REQUEST_ID_LENGTH = 128;
/** Headers servers take as the request's real method (Envoy lowercases header names). */
const METHOD_OVERRIDE_HEADERS = ["x-http-method-override", "x-http-method", "x-method-override"] as const;
/**
 * Every request header Check reads. Nothing may read another: the lean decoder keeps only these
 * of Envoy's header map.
 */
export const WANTED_HEADERS: ReadonlySet<string> = new Set([
  "x-api-key",
  "authorization",
  "x-forwarded-for",
  "x-request-id",
  "content-length",
  ":path",
  ":method",
  ...METHOD_OVERRIDE_HEADERS,
]);

type HeaderGetter = (name: string) => string | undefined;

function ownString(record: { [key: string]: string } | undefined, name: string): string | undefined {
  if (record === undefined || !Object.hasOwn(record, name)) return undefined;
  const value = record[name];
  return typeof value === "string" ? value : undefined;
}

const rawDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Reads headers from `headers` (Envoy's default) or, when Envoy runs with `encode_raw_headers`,
 * from `header_map`, joining repeated names with `,` as Envoy does for the map.
 */
function headerGetter(http: HttpRequestFields | undefined): HeaderGetter {
  if (http === undefined) return () => undefined;
  const raw = http.headerMap?.headers;
  if (raw === undefined || raw.length === 0) return (name) => ownString(http.headers, name);
  let collected: Map<string, string> | undefined;
  return (name) => {
    const direct = ownString(http.headers, name);
    if (direct !== undefined) return direct;
    if (collected === undefined) {
      collected = new Map();
      for (const header of raw) {
        const key = header.key.toLowerCase();
        if (!WANTED_HEADERS.has(key)) continue;
        const value = header.value !== "" ? header.value : rawDecoder.decode(header.rawValue);
        const previous = collected.get(key);
        collected.set(key, previous === undefined ? value : `${previous},${value}`);
      }
    }
    return collected.get(name);
  };
}

/**
 * One credential from a header that Envoy may have joined with `,`: repeats of the same value
 * collapse to it; different values stay joined, which no well-formed secret matches.
 */
function singleCredential(values: readonly string[]): string {
  let chosen = "";
  for (const value of values) {
    if (value === "") continue;
    if (chosen === "") chosen = value;
    else if (value !== chosen) return values.filter((v) => v !== "").join(",");
  }
  return chosen;
}

function splitJoined(value: string): string[] {
  // One credential, the usual case, needs no array of parts.
  if (value.length > MAX_CREDENTIAL_LENGTH || !value.includes(",")) return [value.trim()];
  return value.split(",").map((part) => part.trim());
}

/** The token of each `Bearer` credential (scheme case-insensitive); other schemes are skipped. */
function bearerTokens(authorization: string): string[] {
  const tokens: string[] = [];
  for (const part of splitJoined(authorization)) {
    const space = part.search(/\s/);
    if (space < 0 || part.slice(0, space).toLowerCase() !== "bearer") continue;
    tokens.push(part.slice(space + 1).trim());
  }
  return tokens;
}

export function presentedKey(get: HeaderGetter): PresentedKey {
  const apiKey = get("x-api-key");
  if (apiKey !== undefined) {
    const secret = singleCredential(splitJoined(apiKey));
    if (secret !== "") return { kind: "presented", secret, header: "x-api-key" };
  }
  const authorization = get("authorization");
  if (authorization !== undefined) {
    const secret = singleCredential(bearerTokens(authorization));
    if (secret !== "") return { kind: "presented", secret, header: "authorization" };
  }
  return MISSING;
}

/** The Nth comma-separated entry from the right (1 = last), without splitting the whole value. */
function nthFromRight(list: string, n: number): string | undefined {
  let end = list.length;
  for (let i = 1; i < n; i++) {
    const comma = list.lastIndexOf(",", end - 1);
    if (comma < 0) return undefined;
    end = comma;
  }
  const start = list.lastIndexOf(",", end - 1) + 1;
  const entry = list.slice(start, end).trim();
  return entry === "" ? undefined : entry;
}

function clientIp(request: CheckRequestFields, get: HeaderGetter, trustedProxyHops: number): IpAddress | null {
  if (trustedProxyHops > 0) {
    // Entries right of the trusted ones were written by our proxies; anything further left is
    // whatever the client claimed. Too few entries means the request bypassed them: no address.
    const forwarded = get("x-forwarded-for");
    const entry = forwarded === undefined ? undefined : nthFromRight(forwarded, trustedProxyHops);
    return entry === undefined ? null : parseClientIp(entry);
  }
  const address = request.attributes?.source?.address?.address;
  return address?.case === "socketAddress" ? parseClientIp(address.value.address) : null;
}

function parseScopeList(text: string): readonly string[] {
  const scopes = text.split(/\s+/).filter((scope) => scope !== "");
  return Object.freeze(scopes.length > 1 ? [...new Set(scopes)] : scopes);
}

// Routes' required_scopes come from Envoy's route configuration: a few distinct strings, parsed
// once each. Bounded, since a client can send anything through a route without the extension.
const MAX_REMEMBERED_SCOPE_LISTS = 1_000;
const scopeLists = new Map<string, readonly string[]>();

function scopeList(text: string): readonly string[] {
  let scopes = scopeLists.get(text);
  if (scopes === undefined) {
    scopes = parseScopeList(text);
    if (text.length <= 1_024) {
      if (scopeLists.size >= MAX_REMEMBERED_SCOPE_LISTS) scopeLists.clear();
      scopeLists.set(text, scopes);
    }
  }
  return scopes;
}

const MAX_SAFE_SIZE = BigInt(Number.MAX_SAFE_INTEGER);

function requestBytes(http: HttpRequestFields | undefined, get: HeaderGetter): number | undefined {
  const size = http?.size;
  if (size !== undefined && size >= 0n && size <= MAX_SAFE_SIZE) {
    // Envoy sends 0 when it does not know the size and there is no content-length either.
    if (size > 0n) return Number(size);
  }
  const length = get("content-length");
  return length !== undefined && /^\s*\d{1,15}\s*$/.test(length) ? Number(length) : undefined;
}

// Envoy's routes send a few distinct cost and limits values: each combination, over what the
// table says, is parsed once into one shared Spend (bounded, as scopeLists are).
const MAX_REMEMBERED_SPENDS = 1_000;
const spends = new WeakMap<Spend, Map<string, Spend | null>>();

function routeSpend(base: Spend, costText: string | undefined, limitsText: string | undefined): Spend | null {
  if (costText === undefined && limitsText === undefined) return base;
  let known = spends.get(base);
  if (known === undefined) spends.set(base, (known = new Map()));
  const text = `${costText ?? ""}\u0000${limitsText ?? ""}`;
  let spend = known.get(text);
  if (spend === undefined) {
    const cost = costText === undefined ? base.cost : parseCost(costText);
    const only = limitsText === undefined ? base.only : parseLimitNames(limitsText);
    spend = typeof cost !== "number" || (only !== null && !Array.isArray(only)) ? null : Object.freeze({ cost, only: only as readonly string[] | null, identity: null });
    if (text.length <= 1_024) {
      if (known.size >= MAX_REMEMBERED_SPENDS) known.clear();
      known.set(text, spend);
    }
  }
  return spend;
}

/** The method-override headers' values, joined with `,`; undefined when none is sent (the usual case). */
function methodOverrides(get: HeaderGetter): string | undefined {
  let joined: string | undefined;
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const value = get(name);
    if (value !== undefined && value !== "") joined = joined === undefined ? value : `${joined},${value}`;
  }
  return joined;
}

/** Whether one of the joined override values names a method other than `method` (empty values name none). */
function overridesAnotherMethod(overrides: string, method: string): boolean {
  for (const override of overrides.split(",")) {
    const named = override.trim().toUpperCase();
    if (named !== "" && named !== method) return true;
  }
  return false;
}

/**
 * What a request on a route Envoy names the scopes of needs. Envoy chose the route by the
 * request's own method, but an upstream honouring an override header runs another: with a route
 * table, that method's needs are added as the table adds them; without one, they are unknown.
 */
function envoyRouteScopes(routeScopes: string, method: string, path: string, overrides: string | undefined, routes: RouteTable): CheckInput["requiredScopes"] {
  const scopes = scopeList(routeScopes);
  if (overrides === undefined) return scopes;
  if (routes.configured) return routes.withOverrideScopes(scopes, method, path, overrides);
  return overridesAnotherMethod(overrides, method) ? UNKNOWN_SCOPES : scopes;
}

function headersToRemove(key: PresentedKey, get: HeaderGetter): readonly string[] {
  if (key.kind === "missing") return REMOVE_NONE;
  if (key.header === "authorization") return REMOVE_AUTHORIZATION;
  const authorization = get("authorization");
  return authorization !== undefined && SECRET_MARK.test(authorization) ? REMOVE_BOTH : REMOVE_API_KEY;
}

export function checkInput(request: CheckRequestFields, options: InputOptions): CheckInput {
  const http = request.attributes?.request?.http;
  const get = headerGetter(http);
  const key = presentedKey(get);
  const method = (http?.method || get(":method") || "").slice(0, MAX_METHOD_LENGTH).toUpperCase();
  const target = http?.path || get(":path") || "";
  const routes = options.routes;
  const path = normalizePath(target);
  const extensions = request.attributes?.contextExtensions;
  const routeScopes = ownString(extensions, "required_scopes");
  // The client address is parsed only when asked for: only keys with an allow-list need it.
  let ip: IpAddress | null | undefined;
  return {
    key,
    headersToRemove: headersToRemove(key, get),
    get clientIp() {
      if (ip === undefined) ip = clientIp(request, get, options.trustedProxyHops);
      return ip;
    },
    method,
    path,
    // Screened wherever scopes are required: where Envoy's route names them (even none: Envoy
    // chose that route by the ambiguous spelling, and the upstream may read it as another) and
    // wherever a table is configured. Without either the request needs no scope, which is why
    // every route Envoy sends to keygate names its scopes, the catch-all too (deploy/envoy).
    pathRejected: (routeScopes !== undefined || routes.configured) && isAmbiguousPath(target),
    requiredScopes:
      routeScopes !== undefined
        ? envoyRouteScopes(routeScopes, method, path, methodOverrides(get), routes)
        : routes.configured
          ? routes.scopesFor(method, path, methodOverrides(get))
          : NO_SCOPES,
    spend: routeSpend(routes.spendFor(method, path), ownString(extensions, "cost"), ownString(extensions, "limits")),
    requestId: (http?.id || get("x-request-id") || "").slice(0, MAX_REQUEST_ID_LENGTH),
    requestBytes: requestBytes(http, get),
  };
}
