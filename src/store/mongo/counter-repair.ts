import type { CounterCorrection, CounterRepair } from "../counter-repair.js";
import type { Store } from "../store.js";
import { surveyCounters, type CounterCollections } from "./counter-survey.js";
import { KeySlotCounters } from "./key-slots.js";
import { OwnerCounts } from "./owner-counts.js";

/**
 * Store.repairCounters on MongoDB: key_slots (key-slots.ts) and owner_counts (owner-counts.ts)
 * are changed by writes of their own beside the keys and users they count, and a write whose
 * outcome a failover hid (a slot taken for a key never inserted, a slot never given back) leaves
 * them wrong for good: too high refuses keys under the limit, too low lets keys past it. This
 * counts the keys and owners again and sets the counters to match.
 *
 * A survey of every counter (counter-survey.ts) names the organizations whose counters look
 * wrong; each of those is then recounted and repaired as one unit of work: on a replica set one
 * transaction reads the keys, users and counters from one snapshot and writes the counters that
 * differ. A key or owner change committed meanwhile in a unit of its own moves the same counter,
 * so the two conflict and one of them runs again on the state the other left: the repair never
 * undoes a change it did not see. One organization per transaction keeps each small however
 * large the fleet.
 *
 * On a standalone mongod (no transactions) the reads and writes are made one by one: a change
 * that has moved a counter but not yet written its key (or the reverse) when the repair counts
 * is counted half, and the repair sets that counter one off (a key past the limit, or one refused
 * below it) until a later repair finds it. There, run `keygate repair-counters` at a quiet moment
 * to be sure.
 */
export class MongoCounterRepair {
  readonly #collections: CounterCollections;
  readonly #slots: KeySlotCounters;
  readonly #owners: OwnerCounts;
  readonly #atomically: Store["atomically"];

  /** `inTransaction` says whether the unit running now is a transaction (as the repositories are given it). */
  constructor(collections: CounterCollections, atomically: Store["atomically"], inTransaction: () => boolean) {
    this.#collections = collections;
    this.#slots = new KeySlotCounters(collections.keySlots, inTransaction);
    const countOwners = (organizationId: string) => collections.users.countDocuments({ organizationId, role: "owner" });
    this.#owners = new OwnerCounts(collections.ownerCounts, countOwners, inTransaction);
    this.#atomically = atomically;
  }

  async run(): Promise<CounterRepair> {
    const { checked, suspects } = await surveyCounters(this.#collections);
    const corrections: CounterCorrection[] = [];
    for (const organizationId of suspects) corrections.push(...(await this.#atomically(() => this.#repairOrganization(organizationId))));
    return { checked, corrections };
  }

  /** One organization's counters set to a count of its keys and owners, those that were wrong returned; run inside a unit. */
  async #repairOrganization(organizationId: string): Promise<CounterCorrection[]> {
    const heldByOwner = await this.#collections.keys
      .aggregate<{ _id: string; held: number }>([
        { $match: { organizationId, revokedAt: null } },
        { $group: { _id: "$ownerUserId", held: { $sum: 1 } } },
      ])
      .toArray();
    const slots = await this.#slots.recount(organizationId, new Map(heldByOwner.map(({ _id, held }) => [_id, held])));
    const owners = await this.#owners.recount(organizationId);
    const recounted: CounterCorrection[] = [
      ...slots.map(({ id, was, now }): CounterCorrection => ({
        counter: "key_slots",
        organizationId,
        ...(id.ownerUserId !== null && { userId: id.ownerUserId }),
        was,
        now,
      })),
      ...(owners ? [{ counter: "owners" as const, organizationId, ...owners }] : []),
    ];
    return recounted.filter(({ was, now }) => was !== now);
  }
}
