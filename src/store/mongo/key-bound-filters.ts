import type { Filter } from "mongodb";
import { SECONDS_PER_PERIOD, type KeyBound } from "../key-bound.js";
import type { KeyDocument } from "./key-document.js";

/**
 * key-bound.ts's rule in MongoDB's query language, so boundKeysOfOwner finds and fixes the keys
 * outside a bound in the server, each in one atomic write.
 */

/** The period's length in seconds, as an aggregation expression over the key's own period. */
const SECONDS_OF_KEY_PERIOD = {
  $switch: {
    branches: Object.entries(SECONDS_PER_PERIOD).map(([period, seconds]) => ({ case: { $eq: ["$rateLimit.period", period] }, then: seconds })),
    default: 0,
  },
};

/** The key's rate limit is within the bound: limit × 60 ≤ bound × seconds, in integers (see key-bound.ts). */
export const rateWithinBound = (maxPerMinute: number) => ({
  $and: [
    { $eq: [{ $type: "$rateLimit" }, "object"] },
    { $lte: [{ $multiply: ["$rateLimit.limit", 60] }, { $multiply: [maxPerMinute, SECONDS_OF_KEY_PERIOD] }] },
  ],
});

/** Keys outside the bound: a scope it does not allow, or a rate limit above it or none. */
export const outsideBound = (bound: KeyBound): Filter<KeyDocument> => ({
  $or: [{ scopes: { $elemMatch: { $nin: [...bound.scopes] } } }, { $expr: { $not: [rateWithinBound(bound.maxPerMinute)] } }],
});
