import { benchSecret, HIT, ROLE_KEYS } from "./keys.js";

/**
 * The secrets the frame generator presents, side by side in one shared buffer (54 bytes a key:
 * 54 MB for a million), built once per population in the bench process and handed to the
 * generator's threads without copying. The generator patches a key's 54 bytes into its request
 * frame, so it holds no frame per key.
 *
 * Traffic index j names key 0 (the allowed key) for j = 0, and the bulk keys 3.. after it: the
 * keys 1 and 2 of the population deny by design (keys.ts), so a population of N keys puts N - 2
 * in use, all allowed.
 */

export const SECRET_LENGTH = 54;

/** The keys in use when traffic spreads over a population of `stored` keys. */
export const keysInUse = (stored: number): number => (stored < ROLE_KEYS ? 1 : stored - (ROLE_KEYS - 1));

/** The population index of traffic index j. */
export const keyIndexOf = (j: number): number => (j === 0 ? HIT : ROLE_KEYS + j - 1);

export function secretTable(seed: string, inUse: number): SharedArrayBuffer {
  const table = new SharedArrayBuffer(inUse * SECRET_LENGTH);
  const bytes = Buffer.from(table);
  for (let j = 0; j < inUse; j++) {
    const written = bytes.write(benchSecret(seed, keyIndexOf(j)), j * SECRET_LENGTH, "latin1");
    if (written !== SECRET_LENGTH) throw new Error(`bench secrets are ${SECRET_LENGTH} bytes, got ${written}`);
  }
  return table;
}
