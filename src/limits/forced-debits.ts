import { LRUCache } from "lru-cache";
import type { BudgetLeaseRepository } from "../store/store.js";
import type { BudgetSpec } from "./leased-budget.js";

/**
 * Units taken from a bucket's window in the store whatever the Checks need, as far as the limit
 * allows and no further: a cost the response reported (credits debited after the request) spends
 * the balance down to zero, never below. They are leased by a holder of their own (this replica's
 * name and `-debit`), whose holding is never given back: every unit it is granted is spent.
 * Debits of one bucket go one after another, each stating what the holder held (the store's rule
 * for a retried ask: one whose answer was lost is not granted twice).
 */

interface Holding {
  windowStartMs: number | null;
  held: number;
}

/** Tries when the store's answer says the holding is not what this replica believed (a lost answer). */
const TRIES = 3;

export class ForcedDebits {
  readonly #holder: string;
  readonly #holdings = new LRUCache<string, Holding>({ max: 100_000 });
  /** The last debit of each bucket: the next waits for it. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(
    private readonly leases: BudgetLeaseRepository,
    holder: string,
  ) {
    this.#holder = `${holder.slice(0, 58)}-debit`;
  }

  /** Takes up to `units` of the spec's window; resolves once the store counted them. */
  debit(spec: BudgetSpec, units: number): Promise<void> {
    const before = this.#queues.get(spec.bucket) ?? Promise.resolve();
    const done = before.then(() => this.#debit(spec, units));
    const settled = done.catch(() => {});
    this.#queues.set(spec.bucket, settled);
    void settled.then(() => {
      if (this.#queues.get(spec.bucket) === settled) this.#queues.delete(spec.bucket);
    });
    return done;
  }

  async #debit(spec: BudgetSpec, units: number): Promise<void> {
    let holding = this.#holdings.get(spec.bucket) ?? { windowStartMs: null, held: 0 };
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const [lease] = await this.leases.lease([
        {
          bucket: spec.bucket,
          unit: spec.unit,
          ...(spec.window !== undefined && { window: spec.window }),
          limit: spec.limit,
          holder: this.#holder,
          windowStartMs: holding.windowStartMs,
          held: holding.held,
          floor: holding.held,
          want: units,
        },
      ]);
      holding = { windowStartMs: lease!.windowStartMs, held: lease!.held };
      this.#holdings.set(spec.bucket, holding);
      if (lease!.applied) return;
    }
    throw new Error(`budget debit of ${spec.bucket}: the store's holding kept changing`);
  }
}
