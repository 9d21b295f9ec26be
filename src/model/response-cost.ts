/**
 * Cost from the response (issue 19, docs/response-cost.md): a route (the route table's
 * `costHeader`) or the organization (its `responseCostHeader` setting) names a response header
 * whose value, a whole number the upstream reports (tokens, bytes), is debited from the key's
 * credits and its identity's once the response is logged.
 */

/**
 * A header name as Envoy logs it: lower-case (HTTP/2 and Envoy's header maps are), letters,
 * digits, `-` and `_`, 1–64 characters, not a pseudo-header.
 */
const HEADER_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The most one response may debit; a larger value is garbage rather than a price. */
export const MAX_RESPONSE_COST = 1_000_000_000;

/** A header name as a route or a setting states it (any case), lower-cased, or why it is not one. */
export function parseCostHeader(value: unknown): string | { error: string } {
  const name = typeof value === "string" ? value.toLowerCase() : undefined;
  if (name === undefined || !HEADER_NAME.test(name)) {
    return { error: "must be a response header name: 1 to 64 letters, digits, - or _, starting with a letter or digit" };
  }
  return name;
}
