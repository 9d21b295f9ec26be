/**
 * What Store.repairCounters reports. A store may keep counts beside the records they count, so
 * that a limit is checked by one atomic write (MongoDB's key_slots and owner_counts); a write
 * whose outcome was lost in a failover can leave such a count wrong for good. The repair counts
 * the records again and sets every counter to what it finds.
 */

/** A counter: keys holding a slot in an organization (or of one user in it), or an organization's owners. */
export interface CounterId {
  counter: "key_slots" | "owners";
  organizationId: string;
  /** key_slots of this user only; absent for the organization's own count. */
  userId?: string;
}

/** A counter the repair found wrong, as it was and as it is now (0: deleted, it counted nothing). */
export interface CounterCorrection extends CounterId {
  was: number;
  now: number;
}

export interface CounterRepair {
  /** Counters compared with a recount of what they count. */
  checked: number;
  /** Those that were wrong, by organization. */
  corrections: CounterCorrection[];
}

/** "key slots of user_… in org_…: 34 → 9 (-25)", for logs and the CLI. */
export function describeCorrection(correction: CounterCorrection): string {
  const of = correction.counter === "owners" ? "owners of" : "key slots of";
  const user = correction.userId === undefined ? "" : `user ${correction.userId} in `;
  const delta = correction.now - correction.was;
  return `${of} ${user}organization ${correction.organizationId}: ${correction.was} → ${correction.now} (${delta > 0 ? "+" : ""}${delta})`;
}
