import { isAmbiguousPath } from "../net/request-path.js";
import { parseCostHeader } from "../model/response-cost.js";
import { SCOPE_PATTERN, type ScopeDefinition } from "../model/scopes.js";
import { parseCost, parseLimitNames } from "./route-spend.js";

/** The route table (KEYGATE_ROUTES_FILE): which scopes each method and path needs, and what a request there spends. */

export interface RouteRule {
  /** An HTTP method (a token; matched upper-cased, as Check reads request methods), or `*` for any. */
  method: string;
  /**
   * `/exact`, `/prefix/` + `*` (which also matches `/prefix`), or a glob with `*` for one
   * segment and `**` for any rest. Matched case-sensitively; a trailing slash is not significant.
   */
  path: string;
  scopes: string[];
  /** What a request on the route costs (route-spend.ts); absent: 1. Envoy's `context_extensions["cost"]` wins. */
  cost?: number;
  /** The limits it spends; absent: all the key's and its identity's. Envoy's `context_extensions["limits"]` wins. */
  limits?: string[];
  /**
   * A response header (lower-cased) whose value is debited from the key's credits after the
   * response (docs/response-cost.md); absent: the organization's `responseCostHeader`, if any.
   */
  costHeader?: string;
}

/** An RFC 9110 token without `*` (which alone means any method), as long as Check reads methods. */
const METHOD = /^(?:[A-Za-z0-9!#$%&'+.^_`|~-]{1,32}|\*)$/;
const RULE_FIELDS: ReadonlySet<string> = new Set(["method", "path", "scopes", "cost", "limits", "costHeader"]);

const ROUTE_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/{}-]*$/;

/**
 * KEYGATE_ROUTES_FILE. Once configured the table is the data plane's allow-list, so a rule that
 * could never match (Check rejects or merges such paths before matching) is an error, not a
 * silent gap; and an empty table is refused rather than read as "deny everything".
 */
export function parseRoutes(raw: unknown, catalog: ScopeDefinition[]): RouteRule[] {
  if (!Array.isArray(raw)) throw new Error("must be a JSON array of {method, path, scopes, cost?, limits?, costHeader?}");
  if (raw.length === 0) throw new Error("holds no rule; leave KEYGATE_ROUTES_FILE unset to use no route table");
  const known = new Set(catalog.map((s) => s.name));
  return raw.map((entry, index) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new Error(`route ${index}: must be an object {method, path, scopes, cost?, limits?, costHeader?}`);
    // A misspelt field would be a rule silently weaker than meant (a costHeader never debited, a
    // cost of 1): every field must be one keygate reads.
    const stray = Object.keys(entry).find((field) => !RULE_FIELDS.has(field));
    if (stray !== undefined) throw new Error(`route ${index}: unknown field ${JSON.stringify(stray).slice(0, 40)} (a rule has method, path, scopes, cost, limits and costHeader)`);
    const rule = entry as Partial<RouteRule>;
    const method = rule?.method ?? "*";
    if (typeof method !== "string" || !METHOD.test(method)) throw new Error(`route ${index}: method must be an HTTP method (a token of at most 32 characters) or *`);
    const path = rule?.path;
    if (typeof path !== "string" || !ROUTE_PATH.test(path)) throw new Error(`route ${index}: path must start with / and hold only URL path characters`);
    if (isAmbiguousPath(path)) {
      throw new Error(`route ${index}: path ${path} holds a ; parameter, an encoded slash, backslash, semicolon or NUL (also double-encoded), an invalid escape, or a . or .. segment, which Check rejects in requests`);
    }
    if (path.includes("//")) throw new Error(`route ${index}: path ${path} has an empty segment, which Check merges away in requests`);
    const scopes: unknown = rule?.scopes;
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== "string" || !SCOPE_PATTERN.test(s))) {
      throw new Error(`route ${index}: scopes must be an array of resource:action strings`);
    }
    const unknown = (scopes as string[]).find((s) => !known.has(s));
    if (unknown) throw new Error(`route ${index}: scope ${unknown} is not in the catalog`);
    const spend: Pick<RouteRule, "cost" | "limits" | "costHeader"> = {};
    if (rule?.cost !== undefined) {
      const cost = parseCost(rule.cost);
      if (typeof cost !== "number") throw new Error(`route ${index}: ${cost.error}`);
      spend.cost = cost;
    }
    if (rule?.limits !== undefined) {
      // An array in the table: a string would be a list spelled the way Envoy spells it, easy to get wrong here.
      const limits = Array.isArray(rule.limits) ? parseLimitNames(rule.limits) : { error: "limits must be an array of limit names" };
      if (!Array.isArray(limits)) throw new Error(`route ${index}: ${(limits as { error: string }).error}`);
      spend.limits = [...(limits as readonly string[])];
    }
    if (rule?.costHeader !== undefined) {
      const header = parseCostHeader(rule.costHeader);
      if (typeof header !== "string") throw new Error(`route ${index}: costHeader ${header.error}`);
      spend.costHeader = header;
    }
    return { method, path, scopes: [...(scopes as string[])], ...spend };
  });
}
