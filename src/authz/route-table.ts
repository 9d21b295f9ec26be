import type { RouteRule } from "../config/config.js";

// The configured route table: method + path pattern -> required scopes, used when Envoy sends no
// per-route `required_scopes`. Patterns (see RouteRule):
//   /v1/machines          exact path
//   /v1/machines/*        prefix: a single `*` at the very end matches any rest, across segments
//   /v1/*/tags/**         glob: `*` matches within one segment, `**` any number of segments
// The most specific matching rule wins: an exact path, then the most literal characters, then the
// fewest wildcards, then a named method over `*`, then the earlier rule. Rules are sorted once.

type Matcher = (path: string, segments: () => readonly string[]) => boolean;

interface CompiledRule {
  method: string;
  scopes: readonly string[];
  match: Matcher;
  exact: boolean;
  literalLength: number;
  wildcardWeight: number;
  index: number;
}

export interface RouteTable {
  /** Scopes the first (most specific) matching rule requires; empty when none matches. */
  scopesFor(method: string, path: string): readonly string[];
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

function compile(rule: RouteRule, index: number): CompiledRule {
  const pattern = rule.path;
  const stars = pattern.split("*").length - 1;
  const base = { method: rule.method.toUpperCase(), scopes: Object.freeze([...rule.scopes]), index };
  if (stars === 0) {
    return { ...base, match: (path) => path === pattern, exact: true, literalLength: pattern.length, wildcardWeight: 0 };
  }
  if (stars === 1 && pattern.endsWith("*")) {
    const prefix = pattern.slice(0, -1);
    return { ...base, match: (path) => path.startsWith(prefix), exact: false, literalLength: prefix.length, wildcardWeight: 2 };
  }
  const parts = splitPath(pattern);
  const doubles = parts.filter((part) => part === "**").length;
  return {
    ...base,
    match: (path, segments) => path.startsWith("/") && matchSegments(parts, segments()),
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

export function compileRouteTable(rules: readonly RouteRule[]): RouteTable {
  const compiled = rules.map(compile).sort(moreSpecificFirst);
  return {
    scopesFor(method: string, path: string): readonly string[] {
      let segments: string[] | undefined;
      const lazySegments = (): readonly string[] => (segments ??= splitPath(path));
      for (const rule of compiled) {
        if (rule.method !== "*" && rule.method !== method) continue;
        if (rule.match(path, lazySegments)) return rule.scopes;
      }
      return NONE;
    },
  };
}
