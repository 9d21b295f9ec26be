import type { Collection } from "mongodb";
import type { CounterCorrection, CounterRepair } from "../counter-repair.js";
import type { Store } from "../store.js";
import type { KeyDocument } from "./key-document.js";
import { KeySlotCounters, type SlotCounterDocument } from "./key-slots.js";
import type { OwnerCountDocument, OwnerCounts } from "./owner-counts.js";
import { ownerCountsOver, type UserDocument } from "./user-repository.js";

/**
 * Store.repairCounters on MongoDB: key_slots (key-slots.ts) and owner_counts (owner-counts.ts)
 * are changed by writes of their own beside the keys and users they count, and a write whose
 * outcome a failover hid (a slot taken for a key never inserted, a slot never given back) leaves
 * them wrong for good: too high refuses keys under the limit, too low lets keys past it. This
 * counts the keys and owners again and sets the counters to match.
 *
 * Each organization is one unit of work: on a replica set one transaction reads the keys, users
 * and counters from one snapshot and writes the counters that differ. A key or owner change
 * committed meanwhile in a unit of its own moves the same counter, so the two conflict and one of
 * them runs again on the state the other left: the repair never undoes a change it did not see.
 * One organization per transaction keeps each small however large the fleet.
 *
 * On a standalone mongod (no transactions) the reads and writes are made one by one: a change
 * that has moved a counter but not yet written its key (or the reverse) when the repair counts
 * is counted half, and the repair sets that counter one off (a key past the limit, or one refused
 * below it) until the next repair. Run it there while no keys are being changed.
 */
export interface CounterCollections {
  keys: Collection<KeyDocument>;
  keySlots: Collection<SlotCounterDocument>;
  users: Collection<UserDocument>;
  ownerCounts: Collection<OwnerCountDocument>;
}

export class MongoCounterRepair {
  readonly #collections: CounterCollections;
  readonly #slots: KeySlotCounters;
  readonly #owners: OwnerCounts;
  readonly #atomically: Store["atomically"];

  constructor(collections: CounterCollections, atomically: Store["atomically"]) {
    this.#collections = collections;
    this.#slots = new KeySlotCounters(collections.keySlots);
    this.#owners = ownerCountsOver(collections.ownerCounts, collections.users);
    this.#atomically = atomically;
  }

  async run(): Promise<CounterRepair> {
    const repair: CounterRepair = { checked: 0, corrections: [] };
    for (const organizationId of await this.#organizationIds()) {
      const { checked, corrections } = await this.#atomically(() => this.#repairOrganization(organizationId));
      repair.checked += checked;
      repair.corrections.push(...corrections);
    }
    return repair;
  }

  /** Every organization that has keys or counters, in id order. */
  async #organizationIds(): Promise<string[]> {
    const { keys, keySlots, ownerCounts } = this.#collections;
    const ids = new Set<string>();
    const group = (field: string) => [{ $group: { _id: field } }];
    for await (const { _id } of keys.aggregate<{ _id: string }>([{ $sort: { organizationId: 1 } }, ...group("$organizationId")])) ids.add(_id);
    for await (const { _id } of keySlots.aggregate<{ _id: string }>(group("$_id.organizationId"))) ids.add(_id);
    for await (const { _id } of ownerCounts.find({}, { projection: { _id: 1 } })) ids.add(_id);
    return [...ids].sort();
  }

  /** One organization's counters set to a count of its keys and owners; run inside a unit. */
  async #repairOrganization(organizationId: string): Promise<CounterRepair> {
    const heldByOwner = await this.#collections.keys
      .aggregate<{ _id: string; held: number }>([
        { $match: { organizationId, revokedAt: null } },
        { $group: { _id: "$ownerUserId", held: { $sum: 1 } } },
      ])
      .toArray();
    const slots = await this.#slots.recount(organizationId, new Map(heldByOwner.map(({ _id, held }) => [_id, held])));
    const owners = await this.#owners.recount(organizationId);
    const checked: CounterCorrection[] = [
      ...slots.map(({ id, was, now }): CounterCorrection => ({
        counter: "key_slots",
        organizationId,
        ...(id.ownerUserId !== null && { userId: id.ownerUserId }),
        was,
        now,
      })),
      ...(owners ? [{ counter: "owners" as const, organizationId, ...owners }] : []),
    ];
    return { checked: checked.length, corrections: checked.filter(({ was, now }) => was !== now) };
  }
}
