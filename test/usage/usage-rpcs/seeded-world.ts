import type { TestApp } from "../../support/app.js";

/** What the parts of the usage RPC suite share of the world test/usage/usage-rpcs.test.ts seeds. */

/** The app serving the seeded store, the four keys the traffic used, and a key of another organization. */
export interface SeededWorld {
  t: TestApp;
  keys: { a: string; b: string; c: string; d: string };
  foreignKeyId: string;
}

export const at = (iso: string) => new Date(iso).getTime();

export function daysOfZeros(from: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({ date: new Date(at(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10), requests: 0n, errors: 0n }));
}
