import type { KeyRecord } from "./records.js";

/** The hashes a key is found by: its current secret's and, during a rotation's grace, the previous one's. */
export const hashesOf = (key: Pick<KeyRecord, "secretHash" | "previousSecret">): string[] =>
  key.previousSecret === null ? [key.secretHash] : [key.secretHash, key.previousSecret.hash];
