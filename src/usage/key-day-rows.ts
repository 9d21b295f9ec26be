import { CHECK_OUTCOMES, type CheckOutcome } from "../model/check-outcomes.js";
import { SCALAR_COUNTERS, type UsageTally } from "../model/usage-tally.js";
import { grown } from "../model/typed-array.js";
import type { Day } from "../time/utc-days.js";

/**
 * The usage recorder's counters, one row per key × UTC day, in typed arrays, so that counting a
 * Check allocates nothing (issue 16: a few hundred bytes per key in use, no per-request objects).
 * A row is found by the day's number and the key's id (a string the caller holds); its counters
 * are columns indexed by the row, and the endpoints it counted are a chain of cells holding the
 * endpoint's string (the normalizer's, shared) and a count. A row outlives the flush that takes
 * its counts: its cells, counts at zero, are the endpoints the key-day has seen, which the cap per
 * key-day needs. Rows of other days are let go at each flush, and at `capacity` rows the clean
 * ones (nothing to flush) are reused first.
 */

export const OUTCOME_INDEX: ReadonlyMap<string, number> = new Map(CHECK_OUTCOMES.map((outcome, index) => [outcome, index]));
const OUTCOMES = CHECK_OUTCOMES.length;
const SCALARS = SCALAR_COUNTERS.length;
/** Column of each scalar counter, in SCALAR_COUNTERS' order. */
export const SCALAR = Object.fromEntries(SCALAR_COUNTERS.map((name, index) => [name, index])) as Record<(typeof SCALAR_COUNTERS)[number], number>;
const DAY_MS = 86_400_000;
const NONE = -1;
const FIRST_CAPACITY = 256;

/** A row's counts as the store takes them. */
export interface RowCounts {
  organizationId: string;
  keyId: string;
  day: Day;
  lastUsedAtMs: number | null;
  tally: UsageTally;
}

export class KeyDayRows {
  readonly #capacity: number;
  /** Rows by day number, then by key id (`organization\nkey` for a key seen under two organizations). */
  readonly #byDay = new Map<number, Map<string, number>>();
  #rows = 0;
  #used = 0;
  #freeRows: number[] = [];
  #keyIds: string[] = [];
  #organizationIds: string[] = [];
  #days: Day[] = [];
  #dayNumbers = new Float64Array(0);
  #outcomes = new Uint32Array(0);
  #scalars = new Float64Array(0);
  /** NaN: no allowed request yet. */
  #lastUsedAtMs = new Float64Array(0);
  #firstCell = new Int32Array(0);
  #cellsPerRow = new Uint16Array(0);
  /** Rows with counts to flush, in the order they got their first. */
  #dirty: number[] = [];
  #isDirty = new Uint8Array(0);
  /** Cells: an endpoint, its count since the last flush, the next cell of the row. */
  #endpoints: (string | undefined)[] = [];
  #cellCounts = new Uint32Array(0);
  #nextCell = new Int32Array(0);
  #freeCell = NONE;
  #cellsUsed = 0;
  /** Where the search for a clean row to reuse goes on from. */
  #hand = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Rows with counts not yet taken. */
  get dirtyRows(): number {
    return this.#dirty.length;
  }

  /** The row of the key-day, NONE when there is none. */
  find(organizationId: string, keyId: string, atMs: number): number {
    const rows = this.#byDay.get(Math.floor(atMs / DAY_MS));
    if (rows === undefined) return NONE;
    const row = rows.get(keyId);
    if (row === undefined || this.#organizationIds[row] === organizationId) return row ?? NONE;
    return rows.get(`${organizationId}\n${keyId}`) ?? NONE;
  }

  isDirty(row: number): boolean {
    return this.#isDirty[row] === 1;
  }

  /** A new row for the key-day (find gave NONE), or NONE when every row has counts to flush. */
  add(organizationId: string, keyId: string, day: Day, atMs: number): number {
    const dayNumber = Math.floor(atMs / DAY_MS);
    const row = this.#claimRow();
    if (row === NONE) return NONE;
    let rows = this.#byDay.get(dayNumber);
    if (rows === undefined) this.#byDay.set(dayNumber, (rows = new Map()));
    const taken = rows.get(keyId);
    rows.set(taken === undefined ? keyId : `${organizationId}\n${keyId}`, row);
    this.#keyIds[row] = keyId;
    this.#organizationIds[row] = organizationId;
    this.#days[row] = day;
    this.#dayNumbers[row] = dayNumber;
    this.#lastUsedAtMs[row] = NaN;
    this.#firstCell[row] = NONE;
    this.#cellsPerRow[row] = 0;
    return row;
  }

  /** Marks the row as having counts to flush (the caller checked the buffer's bound). */
  markDirty(row: number): void {
    if (this.#isDirty[row] === 1) return;
    this.#isDirty[row] = 1;
    this.#dirty.push(row);
  }

  addOutcome(row: number, outcome: number): void {
    this.#outcomes[row * OUTCOMES + outcome]!++;
  }

  addScalar(row: number, column: number, by: number): void {
    this.#scalars[row * SCALARS + column]! += by;
  }

  usedAt(row: number, atMs: number): void {
    const last = this.#lastUsedAtMs[row]!;
    if (!(last >= atMs)) this.#lastUsedAtMs[row] = atMs;
  }

  /**
   * Counts one request of `endpoint`; an endpoint the key-day has not seen, once it has seen
   * `maxEndpoints`, counts as `overflow`.
   */
  addEndpoint(row: number, endpoint: string, maxEndpoints: number, overflow: string): void {
    let overflowCell = NONE;
    for (let cell = this.#firstCell[row]!; cell !== NONE; cell = this.#nextCell[cell]!) {
      const seen = this.#endpoints[cell];
      if (seen === endpoint) {
        this.#cellCounts[cell]!++;
        return;
      }
      if (seen === overflow) overflowCell = cell;
    }
    if (this.#cellsPerRow[row]! >= maxEndpoints) {
      if (overflowCell === NONE) overflowCell = this.#addCell(row, overflow);
      this.#cellCounts[overflowCell]!++;
      return;
    }
    this.#cellsPerRow[row]!++;
    // The cell first: adding one may replace the arrays.
    const cell = this.#addCell(row, endpoint);
    this.#cellCounts[cell]!++;
  }

  /** Allowed requests counted and not yet taken, of the organization, on days within [from, to]. */
  dirtyAllowed(organizationId: string, from: Day, to: Day): number {
    let allowed = 0;
    const column = OUTCOME_INDEX.get("allowed" satisfies CheckOutcome)!;
    for (const row of this.#dirty) {
      const day = this.#days[row]!;
      if (this.#organizationIds[row] === organizationId && day >= from && day <= to) allowed += this.#outcomes[row * OUTCOMES + column]!;
    }
    return allowed;
  }

  /**
   * Every dirty row's counts, in order, each row then clean at zero; rows of days before
   * `todayMs`'s are let go (late events for them start a row afresh).
   */
  take(todayMs: number): RowCounts[] {
    const taken: RowCounts[] = [];
    for (const row of this.#dirty) {
      taken.push(this.#counts(row));
      this.#isDirty[row] = 0;
    }
    this.#dirty = [];
    const today = Math.floor(todayMs / DAY_MS);
    for (const [dayNumber, rows] of this.#byDay) {
      if (dayNumber >= today) continue;
      for (const row of rows.values()) this.#release(row);
      this.#byDay.delete(dayNumber);
    }
    return taken;
  }

  #counts(row: number): RowCounts {
    const outcomes: UsageTally["outcomes"] = {};
    for (let i = 0; i < OUTCOMES; i++) {
      const count = this.#outcomes[row * OUTCOMES + i]!;
      if (count > 0) outcomes[CHECK_OUTCOMES[i]!] = count;
      this.#outcomes[row * OUTCOMES + i] = 0;
    }
    const endpoints = new Map<string, number>();
    for (let cell = this.#firstCell[row]!; cell !== NONE; cell = this.#nextCell[cell]!) {
      const count = this.#cellCounts[cell]!;
      if (count > 0) endpoints.set(this.#endpoints[cell]!, count);
      this.#cellCounts[cell] = 0;
    }
    const tally = { outcomes, endpoints } as UsageTally;
    for (const [index, name] of SCALAR_COUNTERS.entries()) {
      tally[name] = this.#scalars[row * SCALARS + index]!;
      this.#scalars[row * SCALARS + index] = 0;
    }
    const last = this.#lastUsedAtMs[row]!;
    this.#lastUsedAtMs[row] = NaN;
    return { organizationId: this.#organizationIds[row]!, keyId: this.#keyIds[row]!, day: this.#days[row]!, lastUsedAtMs: Number.isNaN(last) ? null : last, tally };
  }

  #claimRow(): number {
    if (this.#freeRows.length > 0) return this.#freeRows.pop()!;
    if (this.#used < this.#capacity) {
      if (this.#used === this.#rows) this.#grow(Math.min(this.#capacity, Math.max(FIRST_CAPACITY, this.#rows * 2)));
      return this.#used++;
    }
    // Every row in use: the next clean one gives way (it forgets the endpoints its key-day saw).
    for (let looked = 0; looked < this.#used; looked++) {
      const row = this.#hand;
      this.#hand = (this.#hand + 1) % this.#used;
      if (this.#isDirty[row] === 0) {
        this.#unindex(row);
        this.#freeCells(row);
        return row;
      }
    }
    return NONE;
  }

  #release(row: number): void {
    this.#freeCells(row);
    this.#keyIds[row] = this.#organizationIds[row] = this.#days[row] = undefined as unknown as string;
    this.#freeRows.push(row);
  }

  #unindex(row: number): void {
    const dayNumber = this.#dayNumbers[row]!;
    const rows = this.#byDay.get(dayNumber);
    if (rows === undefined) return;
    const keyId = this.#keyIds[row]!;
    if (rows.get(keyId) === row) rows.delete(keyId);
    else rows.delete(`${this.#organizationIds[row]}\n${keyId}`);
    if (rows.size === 0) this.#byDay.delete(dayNumber);
  }

  #addCell(row: number, endpoint: string): number {
    let cell = this.#freeCell;
    if (cell !== NONE) this.#freeCell = this.#nextCell[cell]!;
    else {
      cell = this.#cellsUsed++;
      if (cell >= this.#cellCounts.length) {
        const size = Math.max(FIRST_CAPACITY, this.#cellCounts.length * 2);
        this.#cellCounts = grown(this.#cellCounts, new Uint32Array(size));
        this.#nextCell = grown(this.#nextCell, new Int32Array(size));
      }
    }
    this.#endpoints[cell] = endpoint;
    this.#cellCounts[cell] = 0;
    this.#nextCell[cell] = this.#firstCell[row]!;
    this.#firstCell[row] = cell;
    return cell;
  }

  #freeCells(row: number): void {
    let cell = this.#firstCell[row]!;
    while (cell !== NONE) {
      const next = this.#nextCell[cell]!;
      this.#endpoints[cell] = undefined;
      this.#nextCell[cell] = this.#freeCell;
      this.#freeCell = cell;
      cell = next;
    }
    this.#firstCell[row] = NONE;
  }

  #grow(rows: number): void {
    this.#dayNumbers = grown(this.#dayNumbers, new Float64Array(rows));
    this.#outcomes = grown(this.#outcomes, new Uint32Array(rows * OUTCOMES));
    this.#scalars = grown(this.#scalars, new Float64Array(rows * SCALARS));
    this.#lastUsedAtMs = grown(this.#lastUsedAtMs, new Float64Array(rows));
    this.#firstCell = grown(this.#firstCell, new Int32Array(rows));
    this.#cellsPerRow = grown(this.#cellsPerRow, new Uint16Array(rows));
    this.#isDirty = grown(this.#isDirty, new Uint8Array(rows));
    this.#rows = rows;
  }
}
