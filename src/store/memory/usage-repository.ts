import type { ApplyResult, KeyDayDelta, KeyLifetimeUsage, UsageBatch, UsageDaysQuery, UsageRepository } from "../usage-repository.js";
import { requestsOf, type KeyDayUsage } from "../../model/usage-tally.js";
import { daysFrom, type Day, type DayRange } from "../../time/utc-days.js";
import { KeyDayTable } from "./key-day-table.js";
import { KeyTotalsTable } from "./key-totals-table.js";
import { RowsByCode } from "./rows-by-code.js";

/**
 * Usage in process memory, laid out like the MongoDB collections: one record per key and day,
 * indexed by organization then day, so a query walks days × keys; and lifetime totals per key.
 * Records are rows in typed columns (key-day-table.ts, key-totals-table.ts), so a key in use costs
 * a few hundred bytes, not a graph of objects; callers get fresh records they may change.
 * `apply` runs without awaiting, so a batch is applied entirely or not at all; batch ids already
 * applied are remembered so a repeated batch changes nothing, as on MongoDB. Days past their
 * retention are skipped at once and swept out now and then (MongoDB's TTL monitor does the same).
 */

/** How many batch ids are remembered; a retry comes long before this many later batches. */
const REMEMBERED_BATCHES = 10_000;
const SWEEP_INTERVAL_MS = 60_000;

/** What a key-day is filed under in the index: its key and day (the organization is checked by row). */
const keyDayText = (keyId: string, day: Day): string => `${day}/${keyId}`;

export class MemoryUsageRepository implements UsageRepository {
  readonly #keys = new KeyTotalsTable();
  readonly #keyDays = new KeyDayTable();
  readonly #keyDayRow = new RowsByCode();
  /** Each organization's key-day rows by day, in the order they were made. */
  readonly #rowsByDay = new Map<string, Map<Day, number[]>>();
  readonly #applied = new Set<string>();
  readonly #now: () => number;
  #lastSweepMs = 0;

  /** `now` decides which days are past retention (wall-clock time, as MongoDB's TTL monitor). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async apply(batch: UsageBatch): Promise<ApplyResult> {
    this.#sweep();
    if (this.#applied.has(batch.id)) return { rejected: [] };
    this.#applied.add(batch.id);
    if (this.#applied.size > REMEMBERED_BATCHES) this.#applied.delete(this.#applied.values().next().value!);
    for (const entry of batch.entries) this.#applyEntry(entry);
    return { rejected: [] };
  }

  #applyEntry(entry: KeyDayDelta): void {
    const keyRow = this.#keys.rowOf(entry.organizationId, entry.keyId);
    let row = this.#keyDayOf(keyRow, entry.keyId, entry.day);
    if (row === undefined) {
      row = this.#keyDays.insert(keyRow, entry.day);
      this.#keyDayRow.add(keyDayText(entry.keyId, entry.day), row);
      this.#rowsOf(entry.organizationId, entry.day).push(row);
    } else if (this.#keyDays.expireAtMs(row) <= this.#now()) {
      this.#keyDays.clear(row);
    }
    this.#keyDays.add(row, entry.tally, entry.lastUsedAtMs, entry.expireAtMs);
    this.#keys.add(keyRow, requestsOf(entry.tally), entry.lastUsedAtMs);
  }

  #keyDayOf(keyRow: number, keyId: string, day: Day): number | undefined {
    return this.#keyDayRow.find(keyDayText(keyId, day), (row) => this.#keyDays.keyRow(row) === keyRow && this.#keyDays.day(row) === day);
  }

  #rowsOf(organizationId: string, day: Day): number[] {
    let byDay = this.#rowsByDay.get(organizationId);
    if (!byDay) this.#rowsByDay.set(organizationId, (byDay = new Map()));
    let rows = byDay.get(day);
    if (!rows) byDay.set(day, (rows = []));
    return rows;
  }

  async days(organizationId: string, range: DayRange, query: UsageDaysQuery = {}): Promise<KeyDayUsage[]> {
    const withEndpoints = query.withEndpoints ?? true;
    const found: KeyDayUsage[] = [];
    this.#eachLiveRow(organizationId, range, query.keyIds, (row, keyId, day) => {
      const lastUsedAtMs = this.#keyDays.lastUsedAtMs(row);
      found.push({ organizationId, keyId, day, lastUsedAtMs, tally: this.#keyDays.tally(row, withEndpoints) });
    });
    return found;
  }

  async keyTotals(organizationId: string, keyIds: readonly string[]): Promise<Map<string, KeyLifetimeUsage>> {
    const found = new Map<string, KeyLifetimeUsage>();
    for (const keyId of keyIds) {
      const row = this.#keys.find(organizationId, keyId);
      if (row !== undefined) found.set(keyId, this.#keys.totals(row));
    }
    return found;
  }

  async allowedRequests(organizationId: string, range: DayRange): Promise<number> {
    let allowed = 0;
    this.#eachLiveRow(organizationId, range, undefined, (row) => (allowed += this.#keyDays.allowed(row)));
    return allowed;
  }

  /** The organization's key-days in the range not past retention (of the given keys only, if any), by day then key id. */
  #eachLiveRow(organizationId: string, range: DayRange, keyIds: readonly string[] | undefined, visit: (row: number, keyId: string, day: Day) => void): void {
    const byDay = this.#rowsByDay.get(organizationId);
    if (!byDay) return;
    const now = this.#now();
    // Chosen keys are looked up, not searched for among all the organization's keys of each day.
    const chosen = keyIds && this.#keyRowsOf(organizationId, keyIds);
    for (const day of daysFrom(range.from, range.to)) {
      if (!byDay.has(day)) continue;
      for (const [keyId, row] of chosen ? this.#chosenRows(chosen, day) : this.#allRows(byDay.get(day)!)) {
        if (this.#keyDays.expireAtMs(row) > now) visit(row, keyId, day);
      }
    }
  }

  /** The keys' rows in the totals table, in key id order; keys never used are left out. */
  #keyRowsOf(organizationId: string, keyIds: readonly string[]): [keyId: string, keyRow: number][] {
    const found: [string, number][] = [];
    for (const keyId of [...new Set(keyIds)].sort()) {
      const keyRow = this.#keys.find(organizationId, keyId);
      if (keyRow !== undefined) found.push([keyId, keyRow]);
    }
    return found;
  }

  #chosenRows(chosen: [keyId: string, keyRow: number][], day: Day): [keyId: string, row: number][] {
    const found: [string, number][] = [];
    for (const [keyId, keyRow] of chosen) {
      const row = this.#keyDayOf(keyRow, keyId, day);
      if (row !== undefined) found.push([keyId, row]);
    }
    return found;
  }

  /** A day's rows in key id order. */
  #allRows(rows: readonly number[]): [keyId: string, row: number][] {
    const found = rows.map((row): [string, number] => [this.#keys.keyId(this.#keyDays.keyRow(row)), row]);
    return found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** How many key-days, endpoint and denial counts are held, swept ones not (what a test of the sweep looks at). */
  get held(): { keyDays: number; endpointCounts: number; denialCounts: number } {
    const { rows, endpointCells, denialCells } = this.#keyDays.size;
    return { keyDays: rows, endpointCounts: endpointCells, denialCounts: denialCells };
  }

  #sweep(): void {
    const now = this.#now();
    if (now - this.#lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.#lastSweepMs = now;
    for (const [organizationId, byDay] of this.#rowsByDay) {
      for (const [day, rows] of byDay) {
        const kept: number[] = [];
        for (const row of rows) {
          if (this.#keyDays.expireAtMs(row) > now) kept.push(row);
          else this.#remove(row, day);
        }
        if (kept.length === 0) byDay.delete(day);
        else if (kept.length < rows.length) byDay.set(day, kept);
      }
      if (byDay.size === 0) this.#rowsByDay.delete(organizationId);
    }
  }

  /** Forgets an expired key-day (its place in the day's rows is the caller's to drop). */
  #remove(row: number, day: Day): void {
    this.#keyDayRow.delete(keyDayText(this.#keys.keyId(this.#keyDays.keyRow(row)), day), row);
    this.#keyDays.remove(row);
  }
}
