import { grown } from "../../model/typed-array.js";
import { stringInterner } from "./interner.js";

/**
 * Counts by name for a key-day (its endpoints, its denials) as a chain of cells in typed columns
 * (name, count, next), where a Map per key-day cost a hundred bytes and more before its first
 * entry, and an always-present column per name costs eight bytes a key-day mostly for zeros. Names
 * are interned: the few a service has are held once, each cell names one in four bytes. A chain is
 * named by its first cell, NONE when empty; cells are appended at the end, so a chain reads back in
 * the order its names were first counted, as a Map's entries would.
 */
export const NONE = -1;
const INITIAL_CELLS = 1024;

export class NamedCounts {
  readonly #names = stringInterner();
  #name = new Uint32Array(INITIAL_CELLS);
  #count = new Float64Array(INITIAL_CELLS);
  #next = new Int32Array(INITIAL_CELLS);
  readonly #free: number[] = [];
  #cells = 0;

  /** Adds `count` to the name's cell in the chain, or appends one; returns the chain's first cell. */
  add(first: number, name: string, count: number): number {
    let last = NONE;
    for (let cell = first; cell !== NONE; cell = this.#next[cell]!) {
      if (this.#names.get(this.#name[cell]!) === name) {
        this.#count[cell]! += count;
        return first;
      }
      last = cell;
    }
    const cell = this.#free.pop() ?? this.#newCell();
    this.#name[cell] = this.#names.hold(name);
    this.#count[cell] = count;
    this.#next[cell] = NONE;
    if (last === NONE) return cell;
    this.#next[last] = cell;
    return first;
  }

  /** The chain's counts as a fresh Map. */
  read(first: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (let cell = first; cell !== NONE; cell = this.#next[cell]!) counts.set(this.#names.get(this.#name[cell]!), this.#count[cell]!);
    return counts;
  }

  /** Gives the chain's cells (and their holds on names) back. */
  free(first: number): void {
    for (let cell = first; cell !== NONE; cell = this.#next[cell]!) {
      this.#names.release(this.#name[cell]!);
      this.#free.push(cell);
    }
  }

  /** How many cells are in chains (what a test of the freeing looks at). */
  get size(): number {
    return this.#cells - this.#free.length;
  }

  #newCell(): number {
    const cell = this.#cells++;
    if (cell === this.#next.length) {
      this.#name = grown(this.#name, new Uint32Array(cell * 2));
      this.#count = grown(this.#count, new Float64Array(cell * 2));
      this.#next = grown(this.#next, new Int32Array(cell * 2));
    }
    return cell;
  }
}
