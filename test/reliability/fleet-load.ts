import type { Db } from "mongodb";
import type { BudgetWindowDocument } from "../../src/store/mongo/budget-leases.js";
import type { TestApp } from "../support/app.js";
import { checker } from "./check-client.js";

/**
 * Check load on a fleet of replicas, and what the store says about it: the tools of the tests
 * that hold the fleet to a limit (fleet-*.test.ts).
 */

/** Outcomes by name ("allowed", "RATE_LIMITED", …), each with its count. */
export type Tally = Record<string, number>;

export function tally(outcomes: readonly string[]): Tally {
  const counts: Tally = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

/** One Check function per replica, the replicas taken in turn by `at(i)`. */
export function fleetChecker(replicas: readonly TestApp[]): { at(i: number): (secret: string) => Promise<string> } {
  const checks = replicas.map((replica) => checker(replica.app.url));
  return { at: (i) => checks[i % checks.length]! };
}

/** `count` Checks of one secret fired at once, the replicas taken in turn. */
export async function burst(replicas: readonly TestApp[], secret: string, count: number): Promise<Tally> {
  const fleet = fleetChecker(replicas);
  return tally(await Promise.all(Array.from({ length: count }, (_, i) => fleet.at(i)(secret))));
}

/** The store's clock (the primary's), which windows follow. */
export async function storeNow(db: Db): Promise<number> {
  const hello = await db.command({ hello: 1 });
  return (hello["localTime"] as Date).getTime();
}

const MINUTE_MS = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` inside one minute of the store's clock (and so inside one month): waits for the
 * next minute when fewer than `marginMs` of this one are left, and throws if `work` outlasted the
 * minute anyway, since a minute's limit counts in each minute apart and the test's sums would
 * then be a different question, not a failure of the limit.
 */
export async function withinOneMinute<T>(db: Db, marginMs: number, work: () => Promise<T>): Promise<T> {
  let startedMs = await storeNow(db);
  const left = MINUTE_MS - (startedMs % MINUTE_MS);
  if (left < marginMs) {
    await sleep(left + 50);
    startedMs = await storeNow(db);
  }
  const result = await work();
  const endedMs = await storeNow(db);
  if (Math.floor(endedMs / MINUTE_MS) !== Math.floor(startedMs / MINUTE_MS)) {
    throw new Error(`the work took ${endedMs - startedMs} ms and crossed into the next minute of the store's clock; raise the margin`);
  }
  return result;
}

/** A bucket's window as stored (budget_windows), or null. */
export function budgetWindow(db: Db, bucket: string): Promise<BudgetWindowDocument | null> {
  return db.collection<BudgetWindowDocument>("budget_windows").findOne({ _id: bucket });
}
