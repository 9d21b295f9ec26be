import type { Collection } from "mongodb";
import type { KeyDocument } from "./key-document.js";
import type { SlotCounterDocument } from "./key-slots.js";
import type { OwnerCountDocument } from "./owner-counts.js";
import type { UserDocument } from "./user-repository.js";

/** What the counter repair reads: the counters and what they count. */
export interface CounterCollections {
  keys: Collection<KeyDocument>;
  keySlots: Collection<SlotCounterDocument>;
  users: Collection<UserDocument>;
  ownerCounts: Collection<OwnerCountDocument>;
}

export interface CounterSurvey {
  /** Counters compared. */
  checked: number;
  /** Organizations with a counter that looks wrong, or counts nothing, in id order. */
  suspects: string[];
}

/**
 * Every counter against a count of what it counts, in four reads of whole collections outside
 * any transaction, so that the repair opens a transaction only where one is needed (an
 * organization's takes about 20 ms even when all is right: minutes at start for a large fleet).
 * A change made between the reads can make a right counter look wrong (the organization's own
 * recount then finds it right) or, far more rarely, hide a wrong one until the next repair.
 */
export async function surveyCounters({ keys, keySlots, users, ownerCounts }: CounterCollections): Promise<CounterSurvey> {
  // Counted and stored values by counter: [kind, organization, user ("" for the organization's own)] as JSON.
  const counted = new Map<string, number>();
  const stored = new Map<string, number>();
  const id = (kind: "slots" | "owners", organizationId: string, userId = "") => JSON.stringify([kind, organizationId, userId]);
  const add = (counter: string, n: number) => counted.set(counter, (counted.get(counter) ?? 0) + n);
  const holding = keys.aggregate<{ _id: { organizationId: string; ownerUserId: string }; held: number }>([
    { $match: { revokedAt: null } },
    { $group: { _id: { organizationId: "$organizationId", ownerUserId: "$ownerUserId" }, held: { $sum: 1 } } },
  ]);
  for await (const { _id, held } of holding) {
    add(id("slots", _id.organizationId), held);
    add(id("slots", _id.organizationId, _id.ownerUserId), held);
  }
  for await (const { _id, held } of keySlots.find()) stored.set(id("slots", _id.organizationId, _id.ownerUserId ?? ""), held);
  const owners = users.aggregate<{ _id: string; owners: number }>([
    { $match: { role: "owner" } },
    { $group: { _id: "$organizationId", owners: { $sum: 1 } } },
  ]);
  for await (const { _id, owners: n } of owners) add(id("owners", _id), n);
  for await (const { _id, owners: n } of ownerCounts.find()) stored.set(id("owners", _id), n);

  let checked = 0;
  const suspects = new Set<string>();
  for (const counter of new Set([...stored.keys(), ...counted.keys()])) {
    const [kind, organizationId] = JSON.parse(counter) as [string, string];
    const value = stored.get(counter);
    // A missing owner counter is not wrong: OwnerCounts.ensure counts afresh when it needs one.
    if (value === undefined && kind === "owners") continue;
    checked++;
    // A counter at 0 counts nothing: its organization's recount deletes it.
    if (value === 0 || value !== (counted.get(counter) ?? 0)) suspects.add(organizationId);
  }
  return { checked, suspects: [...suspects].sort() };
}
