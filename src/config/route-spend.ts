/**
 * What a route makes a request spend (issue 19): its cost, spent on every limit and credit that
 * applies, and the names of the limits it spends, from Envoy's per-route `context_extensions`
 * (`cost`, `limits`) or the route table's `cost` and `limits`. The same rules for both, so a
 * value the table refuses at start is one Check refuses from Envoy.
 */

/** The most one request may cost: far above any real price, far below what a count could overflow. */
export const MAX_COST = 1_000_000;

/** A limit's name: letters, digits, `_`, `-`, `.`; 1–64 characters (model/identities.ts NamedLimit). */
export const LIMIT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Most names one route may list. */
export const MAX_ROUTE_LIMITS = 32;

export interface RouteSpend {
  /** A positive integer up to MAX_COST; 1 unless the route says otherwise. */
  readonly cost: number;
  /** The limits the route spends, each named once; null: every limit of the key and its identity. */
  readonly only: readonly string[] | null;
}

/** A cost as a route states it (a decimal integer string from Envoy, a number in the table), or why it is not one. */
export function parseCost(value: unknown): number | { error: string } {
  const cost = typeof value === "string" && /^\s*\d{1,7}\s*$/.test(value) ? Number(value) : value;
  if (typeof cost !== "number" || !Number.isSafeInteger(cost) || cost < 1 || cost > MAX_COST) {
    return { error: `cost must be a whole number from 1 to ${MAX_COST}` };
  }
  return cost;
}

/** Limit names as a route lists them (space-separated from Envoy, an array in the table), or why they are not. */
export function parseLimitNames(value: unknown): readonly string[] | { error: string } {
  const names = typeof value === "string" ? value.split(/\s+/).filter((name) => name !== "") : value;
  if (!Array.isArray(names) || names.length === 0 || names.length > MAX_ROUTE_LIMITS || names.some((name) => typeof name !== "string" || !LIMIT_NAME.test(name))) {
    return { error: `limits must name 1 to ${MAX_ROUTE_LIMITS} limits, each 1-64 letters, digits, _, - or .` };
  }
  return Object.freeze([...new Set(names as string[])]);
}
