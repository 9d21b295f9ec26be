/**
 * Which key each request of the frame generator presents: uniform over the keys in use, or Zipf
 * with s = 1.1 (a few keys carry most of the traffic and a long tail the rest, the shape of real
 * API traffic). Deterministic: the same seed gives the same sequence, so rounds and runs compare.
 * Zipf draws a uniform number and finds its rank in a precomputed cumulative distribution by
 * binary search (8 bytes per key: 8 MB at a million keys, built once per worker thread).
 */

export type TrafficShape = "uniform" | "zipf";
export const ZIPF_S = 1.1;

/** mulberry32: a small, fast 32-bit generator, good enough to pick keys (not for secrets). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A chooser of key indexes in [0, keys): rank r (0-based) of Zipf is index r, the hot key first. */
export function keyChooser(shape: TrafficShape, keys: number, seed: number): () => number {
  const next = random(seed);
  if (keys === 1) return () => 0;
  if (shape === "uniform") return () => Math.floor(next() * keys);
  const cdf = new Float64Array(keys);
  let total = 0;
  for (let r = 0; r < keys; r++) cdf[r] = total += (r + 1) ** -ZIPF_S;
  return () => {
    const u = next() * total;
    let low = 0;
    let high = keys - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cdf[middle]! < u) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}
