import { endpointKey } from "../model/usage-tally.js";

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

/** Distinct method + path pairs whose endpoint is remembered; the memo is emptied when full. */
const MEMO_ENTRIES = 10_000;

export function endpointNormalizer(idSegment: RegExp): EndpointNormalizer {
  const segment = (text: string): string => (text.length > MAX_SEGMENT_LENGTH || idSegment.test(text) ? ID_SEGMENT : text);
  const normalize: EndpointNormalizer = (method, path) => {
    const verb = METHOD.test(method) ? method : "OTHER";
    if (!path.startsWith("/")) return endpointKey(verb, OTHER_PATH);
    const segments = path.split("/");
    const kept = segments.slice(1, MAX_SEGMENTS + 1).map((text) => (text === "" ? "" : segment(text)));
    const rest = segments.length > MAX_SEGMENTS + 1 ? "/**" : "";
    return endpointKey(verb, `/${kept.join("/")}${rest}`);
  };
  // Check runs this for every request, mostly on a few paths: remember recent answers so the
  // split and the per-segment pattern tests run once per distinct path, not once per request,
  // by method then path, so a lookup builds no string either.
  const memo = new Map<string, Map<string, string>>();
  let remembered = 0;
  return (method, path) => {
    let paths = memo.get(method);
    let endpoint = paths?.get(path);
    if (endpoint === undefined) {
      endpoint = normalize(method, path);
      if (remembered >= MEMO_ENTRIES) {
        memo.clear();
        remembered = 0;
        paths = undefined;
      }
      if (paths === undefined) memo.set(method, (paths = new Map()));
      paths.set(path, endpoint);
      remembered++;
    }
    return endpoint;
  };
}
