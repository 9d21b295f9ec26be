import type { KeyRecord } from "../../model/records.js";
import type { ExpiryCursor } from "../store.js";
import type { KeyTable } from "./key-table.js";

/** One walk's keys in (expiresAt, id) order, as they were when it began: rows, with the expiry and id each had. */
interface Walk {
  rows: Int32Array;
  expiries: Float64Array;
  ids: string[];
}

/** Walks under way at once (the scheduler's, one per replica sharing the store) kept sorted; more are sorted afresh. */
const MAX_WALKS = 4;

/**
 * listExpiringBetween for the embedded store: usable keys whose expiry falls in (from, to], in
 * (expiresAt, id) order, a page at a time. Sorting the range on every page made a walk over n keys
 * cost n²/page (1.7 s of event loop per pass at 50k keys), so a walk's first page sorts the range
 * once and the pages after it continue in that order, by the cursor (binary search). Each key is
 * read as it is now: one whose expiry changed, or that stopped being usable, or was deleted since
 * the walk began is left out of that walk, and one written since is not in it; the next walk has
 * them (the scheduler's passes overlap for it). The walk is dropped at its last page.
 */
export class ExpiryWalks {
  readonly #table: KeyTable;
  readonly #walks = new Map<string, Walk>();

  constructor(table: KeyTable) {
    this.#table = table;
  }

  page(from: Date, to: Date, query: { after?: ExpiryCursor; limit: number }, everyRow: () => Iterable<number>): KeyRecord[] {
    const name = `${from.getTime()}/${to.getTime()}`;
    let walk = query.after === undefined ? undefined : this.#walks.get(name);
    if (!walk) {
      walk = this.#sorted(from.getTime(), to.getTime(), everyRow());
      this.#walks.delete(name);
      this.#walks.set(name, walk);
      if (this.#walks.size > MAX_WALKS) this.#walks.delete(this.#walks.keys().next().value!);
    }
    const page: KeyRecord[] = [];
    let i = query.after === undefined ? 0 : firstAfter(walk, query.after.expiresAt.getTime(), query.after.id);
    for (; i < walk.rows.length && page.length < query.limit; i++) {
      const row = walk.rows[i]!;
      const unchanged = this.#table.id(row) === walk.ids[i] && this.#table.expiresAtMs(row) === walk.expiries[i] && this.#table.isUsable(row);
      if (unchanged) page.push(this.#table.read(row));
    }
    // A short page is the last the caller asks for.
    if (page.length < query.limit) this.#walks.delete(name);
    return page;
  }

  #sorted(fromMs: number, toMs: number, rows: Iterable<number>): Walk {
    const found: { row: number; expiresAt: number; id: string }[] = [];
    for (const row of rows) {
      const expiresAt = this.#table.expiresAtMs(row);
      if (expiresAt !== null && expiresAt > fromMs && expiresAt <= toMs && this.#table.isUsable(row)) found.push({ row, expiresAt, id: this.#table.id(row) });
    }
    found.sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { rows: Int32Array.from(found, (f) => f.row), expiries: Float64Array.from(found, (f) => f.expiresAt), ids: found.map((f) => f.id) };
  }
}

/** The first position of the walk after (expiresAt, id). */
function firstAfter(walk: Walk, expiresAt: number, id: string): number {
  let [low, high] = [0, walk.rows.length];
  while (low < high) {
    const mid = (low + high) >>> 1;
    const before = walk.expiries[mid]! < expiresAt || (walk.expiries[mid] === expiresAt && walk.ids[mid]! <= id);
    if (before) low = mid + 1;
    else high = mid;
  }
  return low;
}
