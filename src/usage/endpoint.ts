import { endpointKey } from "./usage-tally.js";

/**
 * An endpoint is a method and a normalized path: segments that look like ids or numbers read
 * `{id}`, so `/machines/123` and `/machines/456` count as one endpoint. What counts as id-like is
 * configuration (KEYGATE_USAGE_ID_SEGMENT_PATTERN). Lengths are capped so a client cannot make
 * endpoint names, and with them the stored usage documents, grow without bound.
 */

export const ID_SEGMENT = "{id}";
/** Where endpoints go once a key has too many distinct ones in a day, and non-path targets. */
export const OTHER_PATH = "{other}";
export const OVERFLOW_ENDPOINT = endpointKey("*", OTHER_PATH);

const METHOD = /^[A-Z][A-Z-]{0,19}$/;
const MAX_SEGMENTS = 12;
/** Longer segments are tokens or slugs rather than names of a route. */
const MAX_SEGMENT_LENGTH = 64;

export type EndpointNormalizer = (method: string, path: string) => string;

export function endpointNormalizer(idSegment: RegExp): EndpointNormalizer {
  const segment = (text: string): string => (text.length > MAX_SEGMENT_LENGTH || idSegment.test(text) ? ID_SEGMENT : text);
  return (method, path) => {
    const verb = METHOD.test(method) ? method : "OTHER";
    if (!path.startsWith("/")) return endpointKey(verb, OTHER_PATH);
    const segments = path.split("/");
    const kept = segments.slice(1, MAX_SEGMENTS + 1).map((text) => (text === "" ? "" : segment(text)));
    const rest = segments.length > MAX_SEGMENTS + 1 ? "/**" : "";
    return endpointKey(verb, `/${kept.join("/")}${rest}`);
  };
}
