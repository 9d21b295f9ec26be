import { LRUCache } from "lru-cache";
import { growingEntryBound } from "../model/entry-bound.js";
import type { CreditLine } from "./credit-lines.js";

/**
 * What each credit bucket has spent, in this process alone (LocalLimits, for the embedded store).
 * A bucket is one balance in one window (credit-lines.ts), so a refill or a new balance is a new
 * bucket starting at nothing; the ones no Check uses any more fall out of the LRU bound.
 */
export class CreditCounts {
  readonly #spent: LRUCache<string, number>;

  constructor(maxBuckets = 1_000_000) {
    this.#spent = new LRUCache<string, number>(growingEntryBound(maxBuckets));
  }

  remaining(line: CreditLine): number {
    return Math.max(0, line.limit - (this.#spent.get(line.bucket) ?? 0));
  }

  /** Spends `units`; the caller has seen that they are left. */
  spend(line: CreditLine, units: number): void {
    this.#spent.set(line.bucket, (this.#spent.get(line.bucket) ?? 0) + units);
  }

  /** Spends `units`, or what is left when less is: the balance reaches zero, never below. */
  debit(line: CreditLine, units: number): void {
    this.spend(line, Math.min(units, this.remaining(line)));
  }
}
