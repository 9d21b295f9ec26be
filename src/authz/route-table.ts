import type { RouteRule } from "../config/config.js";
import { PLAIN_SPEND, type Spend } from "../limits/check-limits.js";
import { normalizePath } from "../net/request-path.js";

// The configured route table: method + path pattern -> required scopes, used when Envoy sends no
// per-route `required_scopes`. Patterns (see RouteRule):
//   /v1/machines          exact path
//   /v1/machines/*        prefix: a single `*` at the very end matches any rest, across segments
//   /v1/*/tags/**         glob: `*` matches within one segment, `**` any number of segments
// The most specific matching rule wins: an exact path, then the most literal characters, then the
// fewest wildcards, then a named method over `*`, then the earlier rule. Rules are sorted once.
//
// Once a table is configured it is the allow-list of the data plane (the contract's trust
// boundary): a request no rule matches has no scopes to check and is not allowed at all. So that
// no other spelling of a request finds a weaker rule than the request itself:
//  - a pattern ending in `/*` also matches its parent (`/p/*` matches `/p`), and a trailing slash
//    is not significant (`/p/` is matched as `/p`), since servers commonly route both alike;
//  - HEAD needs what GET needs (servers answer HEAD with GET's handler), plus any rule naming HEAD;
//  - a method-override header adds the overriding method's needs (servers dispatch on it);
//  - rule paths are read in the canonical spelling normalizePath gives requests.

type Matcher = (path: string, segments: () => readonly string[]) => boolean;

interface CompiledRule {
  method: string;
  scopes: readonly string[];
  /** What a request on it spends: PLAIN_SPEND unless the rule names a cost or limits. */
  spend: Spend;
  /** The response header whose value is debited after the response; null: the organization's. */
  costHeader: string | null;
  match: Matcher;
  exact: boolean;
  literalLength: number;
  wildcardWeight: number;
  index: number;
}

export interface RouteTable {
  /** True when the table has rules: then a request no rule matches is not allowed. */
  readonly configured: boolean;
  /**
   * The scopes a request needs, or null when the table is configured and no rule allows it.
   * `method` is upper-cased, `path` normalized (normalizePath); `overrides` are the values of
   * the method-override headers, joined with `,` as Envoy joins repeated headers.
   * Without rules, nothing is required.
   */
  scopesFor(method: string, path: string, overrides?: string): readonly string[] | null;
  /**
   * `scopes` (those Envoy's route names for the request's own method) and the needs of each
   * method the override headers name, as scopesFor adds them; null when the table allows one of
   * those methods nowhere on this path. Without rules, `scopes` unchanged.
   */
  withOverrideScopes(scopes: readonly string[], method: string, path: string, overrides: string): readonly string[] | null;
  /**
   * What a request spends by the rule its own method matches (HEAD: a rule naming HEAD, else
   * GET's, as for scopes); PLAIN_SPEND when no rule matches or none names a cost or limits.
   * Method-override headers do not change it: the cost is the route's the request took.
   */
  spendFor(method: string, path: string): Spend;
  /**
   * The response header the rule `spendFor` would take names for its cost (docs/response-cost.md),
   * for the access log to debit; null when no rule matches or it names none.
   */
  costHeaderFor(method: string, path: string): string | null;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Wildcard matching where `star` stands for any run of items (greedy, backtracking to the last
 * star: O(pattern × items) at worst, linear in practice). Used twice: on the characters of one
 * segment with `*`, and on the segments of a path with `**`.
 */
function wildcardMatch<P, T>(pattern: ArrayLike<P>, items: ArrayLike<T>, star: P, same: (part: P, item: T) => boolean): boolean {
  let p = 0;
  let i = 0;
  let lastStar = -1;
  let resume = 0;
  while (i < items.length) {
    if (p < pattern.length && pattern[p] !== star && same(pattern[p]!, items[i]!)) {
      p++;
      i++;
    } else if (p < pattern.length && pattern[p] === star) {
      lastStar = p++;
      resume = i;
    } else if (lastStar >= 0) {
      p = lastStar + 1;
      i = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === star) p++;
  return p === pattern.length;
}

const sameChar = (a: string, b: string): boolean => a === b;
const matchSegment = (pattern: string, segment: string): boolean => wildcardMatch(pattern, segment, "*", sameChar);
const matchSegments = (pattern: readonly string[], segments: readonly string[]): boolean => wildcardMatch(pattern, segments, "**", matchSegment);

const splitPath = (path: string): string[] => path.slice(1).split("/");

/** A path as rules see it: a trailing slash is not significant (`/p/` is `/p`). */
const withoutTrailingSlash = (path: string): string => (path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path);

/** A rule's path in the spelling requests are matched in: escapes canonical, no trailing slash. */
const canonicalPattern = (pattern: string): string => withoutTrailingSlash(normalizePath(pattern));

function compile(rule: RouteRule, index: number): CompiledRule {
  const pattern = canonicalPattern(rule.path);
  const stars = pattern.split("*").length - 1;
  const spend: Spend =
    rule.cost === undefined && rule.limits === undefined
      ? PLAIN_SPEND
      : Object.freeze({ cost: rule.cost ?? 1, only: rule.limits === undefined ? null : Object.freeze([...rule.limits]), identity: null });
  const base = { method: rule.method.toUpperCase(), scopes: Object.freeze([...rule.scopes]), spend, costHeader: rule.costHeader ?? null, index };
  if (stars === 0) {
    return { ...base, match: (path) => path === pattern, exact: true, literalLength: pattern.length, wildcardWeight: 0 };
  }
  if (stars === 1 && pattern.endsWith("*")) {
    const prefix = pattern.slice(0, -1);
    // `/p/*` also matches `/p` (the parent of `/*`, which is no path, is left out).
    const parent = prefix.length > 1 && prefix.endsWith("/") ? prefix.slice(0, -1) : undefined;
    return {
      ...base,
      match: (path) => path.startsWith(prefix) || path === parent,
      exact: false,
      literalLength: prefix.length,
      wildcardWeight: 2,
    };
  }
  const parts = splitPath(pattern);
  const doubles = parts.filter((part) => part === "**").length;
  const parentParts = parts.length > 1 && parts[parts.length - 1] === "*" ? parts.slice(0, -1) : undefined;
  return {
    ...base,
    match: (path, segments) =>
      path.startsWith("/") && (matchSegments(parts, segments()) || (parentParts !== undefined && matchSegments(parentParts, segments()))),
    exact: false,
    // The slash before a `**` is not literal either: `**` may match nothing, slash included.
    literalLength: pattern.length - stars - doubles,
    wildcardWeight: doubles * 2 + (stars - doubles * 2),
  };
}

function moreSpecificFirst(a: CompiledRule, b: CompiledRule): number {
  return (
    Number(b.exact) - Number(a.exact) ||
    b.literalLength - a.literalLength ||
    a.wildcardWeight - b.wildcardWeight ||
    Number(b.method !== "*") - Number(a.method !== "*") ||
    a.index - b.index
  );
}

/** `a` and whatever of `b` it lacks; `a` itself when that is nothing. */
function union(a: readonly string[], b: readonly string[]): readonly string[] {
  let merged: string[] | undefined;
  for (const scope of b) {
    if (a.includes(scope) || merged?.includes(scope)) continue;
    (merged ??= [...a]).push(scope);
  }
  return merged ?? a;
}

/**
 * The kind of every method no rule names: those reach only `*` rules, so they are all alike. No
 * rule names "" (rule methods are tokens), so matching with it reaches exactly those rules.
 */
const UNNAMED = "";

class CompiledRouteTable implements RouteTable {
  readonly configured: boolean;
  readonly #rules: readonly CompiledRule[];
  /** Methods with a meaning of their own: those rules name, and GET and HEAD. */
  readonly #named: ReadonlySet<string>;
  /** Some rule names a cost or limits: otherwise spendFor matches nothing. */
  readonly #spends: boolean;
  /** Some rule names a cost header: otherwise costHeaderFor matches nothing. */
  readonly #costHeaders: boolean;

  constructor(rules: readonly RouteRule[]) {
    this.#rules = rules.map(compile).sort(moreSpecificFirst);
    this.configured = this.#rules.length > 0;
    this.#spends = this.#rules.some((rule) => rule.spend !== PLAIN_SPEND);
    this.#costHeaders = this.#rules.some((rule) => rule.costHeader !== null);
    this.#named = new Set(["GET", "HEAD", ...this.#rules.map((rule) => rule.method).filter((method) => method !== "*")]);
  }

  scopesFor(method: string, path: string, overrides?: string): readonly string[] | null {
    if (!this.configured) return NONE;
    const target = withoutTrailingSlash(path);
    let segments: string[] | undefined;
    const lazySegments = (): readonly string[] => (segments ??= splitPath(target));
    const scopes = this.#needs(method, target, lazySegments);
    if (scopes === null || overrides === undefined) return scopes;
    return this.#withOverrides(scopes, method, overrides, target, lazySegments);
  }

  withOverrideScopes(scopes: readonly string[], method: string, path: string, overrides: string): readonly string[] | null {
    if (!this.configured) return scopes;
    const target = withoutTrailingSlash(path);
    let segments: string[] | undefined;
    return this.#withOverrides(scopes, method, overrides, target, () => (segments ??= splitPath(target)));
  }

  spendFor(method: string, path: string): Spend {
    return this.#spends ? (this.#ruleTaken(method, path)?.spend ?? PLAIN_SPEND) : PLAIN_SPEND;
  }

  costHeaderFor(method: string, path: string): string | null {
    return this.#costHeaders ? (this.#ruleTaken(method, path)?.costHeader ?? null) : null;
  }

  /** The rule a request's own method takes (HEAD: a rule naming HEAD, else GET's), as for its spend. */
  #ruleTaken(method: string, path: string): CompiledRule | undefined {
    const target = withoutTrailingSlash(path);
    let segments: string[] | undefined;
    const lazySegments = (): readonly string[] => (segments ??= splitPath(target));
    return method === "HEAD" ? (this.#match("HEAD", target, lazySegments, true) ?? this.#match("GET", target, lazySegments)) : this.#match(method, target, lazySegments);
  }

  /** The most specific rule for this method (or, with `named`, only rules naming it). */
  #match(method: string, path: string, segments: () => readonly string[], named = false): CompiledRule | undefined {
    for (const rule of this.#rules) {
      if (rule.method !== method && (named || rule.method !== "*")) continue;
      if (rule.match(path, segments)) return rule;
    }
    return undefined;
  }

  #needs(method: string, path: string, segments: () => readonly string[]): readonly string[] | null {
    if (method !== "HEAD") return this.#match(method, path, segments)?.scopes ?? null;
    const get = this.#match("GET", path, segments);
    if (get === undefined) return null;
    const head = this.#match("HEAD", path, segments, true);
    return head === undefined ? get.scopes : union(get.scopes, head.scopes);
  }

  /**
   * Adds each overriding method's needs; null when one of them is not allowed. Work is bounded
   * by the table, not the header: methods no rule names are all alike and looked up once.
   */
  #withOverrides(scopes: readonly string[], method: string, overrides: string, path: string, segments: () => readonly string[]): readonly string[] | null {
    const seen = [this.#kind(method)];
    let needed = scopes;
    for (let start = 0; start <= overrides.length; ) {
      let end = overrides.indexOf(",", start);
      if (end < 0) end = overrides.length;
      const override = overrides.slice(start, end).trim().toUpperCase();
      start = end + 1;
      // An empty value overrides nothing.
      if (override === "") continue;
      const kind = this.#kind(override);
      if (seen.includes(kind)) continue;
      seen.push(kind);
      const more = this.#needs(kind, path, segments);
      if (more === null) return null;
      needed = union(needed, more);
    }
    return needed;
  }

  #kind(method: string): string {
    return this.#named.has(method) ? method : UNNAMED;
  }
}

export function compileRouteTable(rules: readonly RouteRule[]): RouteTable {
  return new CompiledRouteTable(rules);
}
