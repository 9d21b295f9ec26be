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

/** Glob match of one segment where `*` matches any run of characters (greedy with backtracking). */
function matchSegment(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/** The same algorithm one level up: `**` matches any number of whole segments. */
function matchSegments(pattern: readonly string[], segments: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  let star = -1;
  let resume = 0;
  while (s < segments.length) {
    if (p < pattern.length && pattern[p] !== "**" && matchSegment(pattern[p]!, segments[s]!)) {
      p++;
      s++;
    } else if (p < pattern.length && pattern[p] === "**") {
      star = p++;
      resume = s;
    } else if (star >= 0) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "**") p++;
  return p === pattern.length;
}

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
