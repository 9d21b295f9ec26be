import type { Filter } from "mongodb";
import { SECONDS_PER_PERIOD, type KeyBound } from "../key-bound.js";
import type { KeyDocument } from "./key-document.js";

/**
 * key-bound.ts's rule in MongoDB's query language, so boundKeysOfOwner finds and fixes the keys
 * outside a bound in the server, each in one atomic write.
 */

/** A rate's period length in seconds, as an aggregation expression over `rate` (`$rateLimit`, `$$this`). */
const secondsOfPeriod = (rate: string) => ({
  $switch: {
    branches: Object.entries(SECONDS_PER_PERIOD).map(([period, seconds]) => ({ case: { $eq: [`${rate}.period`, period] }, then: seconds })),
    default: 0,
  },
});

/** The rate at `rate` is within the bound: limit × 60 ≤ bound × seconds, in integers (see key-bound.ts). */
const within = (rate: string, maxPerMinute: number) => ({ $lte: [{ $multiply: [`${rate}.limit`, 60] }, { $multiply: [maxPerMinute, secondsOfPeriod(rate)] }] });

/** The key's rate limit is within the bound. */
export const rateWithinBound = (maxPerMinute: number) => ({
  $and: [{ $eq: [{ $type: "$rateLimit" }, "object"] }, within("$rateLimit", maxPerMinute)],
});

/** Every named limit of the key (none: true) is within the bound. */
export const namedLimitsWithinBound = (maxPerMinute: number) => ({
  $allElementsTrue: [{ $map: { input: { $ifNull: ["$limits", []] }, in: within("$$this", maxPerMinute) } }],
});

/** The key's named limits with each above the bound replaced by the bound per minute, under its name. */
export const boundedNamedLimits = (maxPerMinute: number) => ({
  $cond: [
    { $isArray: "$limits" },
    {
      $map: {
        input: "$limits",
        in: { $cond: [within("$$this", maxPerMinute), "$$this", { name: "$$this.name", limit: { $literal: maxPerMinute }, period: "minute" }] },
      },
    },
    "$limits",
  ],
});

/** Keys outside the bound: a scope it does not allow, or a rate limit (or a named limit) above it, or no rate limit. */
export const outsideBound = (bound: KeyBound): Filter<KeyDocument> => ({
  $or: [
    { scopes: { $elemMatch: { $nin: [...bound.scopes] } } },
    { $expr: { $not: [rateWithinBound(bound.maxPerMinute)] } },
    { $expr: { $not: [namedLimitsWithinBound(bound.maxPerMinute)] } },
  ],
});
