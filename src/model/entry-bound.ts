/**
 * lru-cache options that bound a cache by its number of entries without allocating for all of
 * them up front. Given `max`, lru-cache allocates its arrays for `max` entries when it is made
 * (about 27 bytes an entry: 2.7 MB for 100,000), which suits a cache expected to fill. Most of
 * keygate's bounded caches (unknown keys, organizations, throttled sources, months) hold a few
 * entries against a bound sized for attacks or large fleets, and a process held a dozen of them:
 * counting each entry as 1 against `maxSize` bounds them the same, with arrays that grow as
 * entries come.
 */
export function growingEntryBound(maxEntries: number): { maxSize: number; sizeCalculation: () => number } {
  if (!(Number.isSafeInteger(maxEntries) && maxEntries >= 1)) throw new RangeError(`an entry bound must be a positive integer, not ${maxEntries}`);
  return { maxSize: maxEntries, sizeCalculation: oneEntry };
}

const oneEntry = (): number => 1;
