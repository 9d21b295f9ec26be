import type { Db } from "mongodb";
import type { BudgetWindowDocument } from "../../src/store/mongo/budget-leases.js";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";
import type { LimitCheckRecord } from "./limit-load.js";

/**
 * What the store's budget windows say against what the replicas answered, after a limit was
 * driven through an election: each verdict is a list of the buckets that break it, empty when it
 * holds, so that a failure names every offender rather than the first.
 */

/** A bucket's window as stored: the fleet's total, and what the holders hold summed. */
export interface StoredWindow {
  bucket: string;
  startMs: number;
  granted: number;
  heldSum: number;
  holders: number;
}

/** The windows of `buckets` (a missing one is left out: the verdicts name it). */
export async function storedWindows(data: Db, buckets: string[]): Promise<Map<string, StoredWindow>> {
  const docs = await data.collection<BudgetWindowDocument>(COLLECTIONS.budgetWindows).find({ _id: { $in: buckets } }).toArray();
  return new Map(
    docs.map((doc) => {
      const held = Object.values(doc.held);
      return [doc._id, { bucket: doc._id, startMs: doc.start.getTime(), granted: doc.granted, heldSum: held.reduce((sum, units) => sum + units, 0), holders: held.length }];
    }),
  );
}

/** One bucket judged: what was admitted in it and its stored window. */
export interface BucketAccount {
  bucket: string;
  limit: number;
  allowed: number;
  window: StoredWindow | undefined;
  /**
   * A monthly quota's first window is seeded with the usage stored for the month (it may count
   * the first requests a second time, never fewer): its total is at least what the holders hold.
   */
  seeded?: boolean;
}

export const allowedOf = (checks: LimitCheckRecord[], key?: number) =>
  checks.filter((check) => check.answer === "allowed" && (key === undefined || check.key === key)).length;

const describe = ({ bucket, limit, allowed, window }: BucketAccount) =>
  `${bucket}: limit ${limit}, allowed ${allowed}, ${window === undefined ? "no stored window" : `granted ${window.granted}, held ${window.heldSum} by ${window.holders}`}`;

/**
 * No slice granted twice and none lost: the fleet's total is exactly what its holders hold, and
 * covers every request admitted (an admission outside any grant would be a count lost).
 */
export function countsNotCovered(accounts: BucketAccount[]): string[] {
  const covered = ({ allowed, window, seeded }: BucketAccount) =>
    window !== undefined && (seeded === true ? window.granted >= window.heldSum : window.granted === window.heldSum) && allowed <= window.heldSum;
  return accounts.filter((account) => !covered(account)).map(describe);
}

/** Buckets whose limit the fleet exceeded, in admissions or in grants. */
export function overTheLimit(accounts: BucketAccount[]): string[] {
  return accounts.filter(({ limit, allowed, window }) => allowed > limit || (window?.granted ?? 0) > limit).map(describe);
}

/** Buckets that admitted less than their limit by more than `boundUnits` (the design's under-admission bound). */
export function underAdmitted(accounts: BucketAccount[], boundUnits: number): string[] {
  return accounts.filter(({ limit, allowed }) => limit - allowed > boundUnits).map(describe);
}

/** Buckets whose window is not the one that was open when the load began (the run straddled a window edge). */
export function windowsNotOpenedAt(accounts: BucketAccount[], startMs: number): string[] {
  return accounts.filter(({ window }) => window !== undefined && window.startMs !== startMs).map(describe);
}
