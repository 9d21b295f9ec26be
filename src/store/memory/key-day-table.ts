import { CHECK_OUTCOMES, type CheckOutcome } from "../../model/check-outcomes.js";
import { grown } from "../../model/typed-array.js";
import { SCALAR_COUNTERS, type UsageTally } from "../../model/usage-tally.js";
import type { Day } from "../../time/utc-days.js";
import { NamedCounts, NONE } from "./named-counts.js";
import { stringInterner } from "./interner.js";

/**
 * The embedded store's key-days, one row per key and UTC day in typed columns: the key's row in
 * the totals table and the interned day (4 bytes each), the first cells of its endpoint and denial
 * counts (named-counts.ts: most key-days see one endpoint and no denial), and the rest as numbers:
 * allowed decisions, the access-log counters, the last use and the expiry. A few hundred bytes a
 * key-day, index and all, where the objects of a KeyDayUsage took twice that. Counters are
 * float64, as JavaScript numbers are, so sums stay exact as far as they would in one.
 */

/** Offsets in a row of `#numbers`. */
const ALLOWED = 0;
const SCALARS = 1;
const LAST_USED_AT = SCALARS + SCALAR_COUNTERS.length;
const EXPIRE_AT = LAST_USED_AT + 1;
const NUMBERS = EXPIRE_AT + 1;
const DENIALS = CHECK_OUTCOMES.filter((outcome) => outcome !== "allowed");

const INITIAL_ROWS = 1024;

export class KeyDayTable {
  readonly #days = stringInterner();
  readonly #endpoints = new NamedCounts();
  readonly #denials = new NamedCounts();
  #keyRow = new Uint32Array(INITIAL_ROWS);
  #day = new Uint32Array(INITIAL_ROWS);
  #firstEndpoint = new Int32Array(INITIAL_ROWS);
  #firstDenial = new Int32Array(INITIAL_ROWS);
  #numbers = new Float64Array(INITIAL_ROWS * NUMBERS);
  readonly #freeRows: number[] = [];
  #rows = 0;

  /** A new, empty key-day: no counts, no last use, already expired (expiry 0) until a delta is added. */
  insert(keyRow: number, day: Day): number {
    const row = this.#freeRows.pop() ?? this.#newRow();
    this.#keyRow[row] = keyRow;
    this.#day[row] = this.#days.hold(day);
    this.#firstEndpoint[row] = this.#firstDenial[row] = NONE;
    this.clear(row);
    return row;
  }

  /** Empties a row's counts, as a key-day past its retention is begun afresh. */
  clear(row: number): void {
    this.#freeCounts(row);
    this.#numbers.fill(0, row * NUMBERS, (row + 1) * NUMBERS);
    this.#numbers[row * NUMBERS + LAST_USED_AT] = Number.NaN;
  }

  /** Forgets a row; its number may be given to a later key-day. */
  remove(row: number): void {
    this.#freeCounts(row);
    this.#days.release(this.#day[row]!);
    this.#freeRows.push(row);
  }

  /** Adds a delta's counters; the last use and the expiry keep the later. */
  add(row: number, tally: UsageTally, lastUsedAtMs: number | null, expireAtMs: number): void {
    const at = row * NUMBERS;
    const allowed = tally.outcomes.allowed;
    if (allowed) this.#numbers[at + ALLOWED]! += allowed;
    let denial = this.#firstDenial[row]!;
    for (const outcome of DENIALS) {
      const count = tally.outcomes[outcome];
      if (count) denial = this.#denials.add(denial, outcome, count);
    }
    this.#firstDenial[row] = denial;
    for (let counter = 0; counter < SCALAR_COUNTERS.length; counter++) this.#numbers[at + SCALARS + counter]! += tally[SCALAR_COUNTERS[counter]!];
    let first = this.#firstEndpoint[row]!;
    for (const [endpoint, count] of tally.endpoints) first = this.#endpoints.add(first, endpoint, count);
    this.#firstEndpoint[row] = first;
    // Math.max with NaN is NaN, so an empty last use is replaced rather than compared.
    if (lastUsedAtMs !== null && !(lastUsedAtMs <= this.#numbers[at + LAST_USED_AT]!)) this.#numbers[at + LAST_USED_AT] = lastUsedAtMs;
    this.#numbers[at + EXPIRE_AT] = Math.max(this.#numbers[at + EXPIRE_AT]!, expireAtMs);
  }

  keyRow(row: number): number {
    return this.#keyRow[row]!;
  }

  day(row: number): Day {
    return this.#days.get(this.#day[row]!);
  }

  expireAtMs(row: number): number {
    return this.#numbers[row * NUMBERS + EXPIRE_AT]!;
  }

  allowed(row: number): number {
    return this.#numbers[row * NUMBERS + ALLOWED]!;
  }

  lastUsedAtMs(row: number): number | null {
    const lastUsedAtMs = this.#numbers[row * NUMBERS + LAST_USED_AT]!;
    return Number.isNaN(lastUsedAtMs) ? null : lastUsedAtMs;
  }

  /** A fresh tally of the row: only the outcomes counted, endpoints only when asked for. */
  tally(row: number, withEndpoints: boolean): UsageTally {
    const at = row * NUMBERS;
    const outcomes: Partial<Record<CheckOutcome, number>> = {};
    if (this.#numbers[at + ALLOWED]) outcomes.allowed = this.#numbers[at + ALLOWED];
    for (const [outcome, count] of this.#denials.read(this.#firstDenial[row]!)) outcomes[outcome as CheckOutcome] = count;
    const tally: UsageTally = {
      outcomes,
      endpoints: withEndpoints ? this.#endpoints.read(this.#firstEndpoint[row]!) : new Map(),
      checkBytes: 0,
      successful: 0,
      failed: 0,
      timedResponses: 0,
      responseTimeUs: 0,
      transferredBytes: 0,
    };
    for (let counter = 0; counter < SCALAR_COUNTERS.length; counter++) tally[SCALAR_COUNTERS[counter]!] = this.#numbers[at + SCALARS + counter]!;
    return tally;
  }

  /** How many rows and count cells are held (what a test of the sweep looks at). */
  get size(): { rows: number; endpointCells: number; denialCells: number } {
    return { rows: this.#rows - this.#freeRows.length, endpointCells: this.#endpoints.size, denialCells: this.#denials.size };
  }

  #freeCounts(row: number): void {
    this.#endpoints.free(this.#firstEndpoint[row]!);
    this.#denials.free(this.#firstDenial[row]!);
    this.#firstEndpoint[row] = this.#firstDenial[row] = NONE;
  }

  #newRow(): number {
    const row = this.#rows++;
    if (row === this.#keyRow.length) {
      this.#keyRow = grown(this.#keyRow, new Uint32Array(row * 2));
      this.#day = grown(this.#day, new Uint32Array(row * 2));
      this.#firstEndpoint = grown(this.#firstEndpoint, new Int32Array(row * 2));
      this.#firstDenial = grown(this.#firstDenial, new Int32Array(row * 2));
      this.#numbers = grown(this.#numbers, new Float64Array(row * 2 * NUMBERS));
    }
    return row;
  }
}
