import { grown } from "../model/typed-array.js";

/**
 * Small integer slots for named buckets, so that what a bucket counts can live in typed arrays
 * indexed by its slot (rate-limiter.ts) rather than in an object, a cache node and a name string
 * per bucket. A bucket is found by its kind (a small number: the limiter's period) and its name
 * (a string the caller already holds, such as a key id: nothing is built per request). Slots are
 * kept in least-recently-used order in two Int32Arrays; at `max` buckets the least recently used
 * is dropped, and below it the least recently used is reused first when its owner says it holds
 * nothing, so the arrays grow only with the buckets that count something.
 */

const NONE = -1;
const FIRST_CAPACITY = 64;

export class BucketSlots {
  readonly #byName: Map<string, number>[];
  readonly #max: number;
  /** Called with the new capacity before a slot at or beyond the old one is handed out. */
  readonly #grow: (capacity: number) => void;
  #capacity = 0;
  /** Slots ever handed out; those below it are in use or on the free list. */
  #used = 0;
  #size = 0;
  #names: (string | undefined)[] = [];
  #kinds = new Uint8Array(0);
  /** Toward the least recently used; on the free list, the next free slot. */
  #older = new Int32Array(0);
  #newer = new Int32Array(0);
  #newest = NONE;
  #oldest = NONE;
  #free = NONE;

  constructor(kinds: number, max: number, grow: (capacity: number) => void) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, not ${max}`);
    this.#byName = Array.from({ length: kinds }, () => new Map<string, number>());
    this.#max = max;
    this.#grow = grow;
  }

  /** Buckets held. */
  get size(): number {
    return this.#size;
  }

  /** The bucket's slot, now the most recently used; NONE (-1) when there is none. */
  find(kind: number, name: string): number {
    const slot = this.#byName[kind]!.get(name);
    if (slot === undefined) return NONE;
    if (slot !== this.#newest) {
      this.#unlink(slot);
      this.#linkNewest(slot);
    }
    return slot;
  }

  /** The kind of the bucket in `slot`. */
  kindOf(slot: number): number {
    return this.#kinds[slot]!;
  }

  /**
   * A slot for a bucket that has none (find gave NONE); its state is the caller's to reset. The
   * least recently used bucket gives up its slot when `max` are held, or when `holdsNothing` says
   * it counts nothing any more.
   */
  claim(kind: number, name: string, holdsNothing: (slot: number) => boolean): number {
    let slot: number;
    const oldest = this.#oldest;
    if (oldest !== NONE && (this.#size >= this.#max || holdsNothing(oldest))) {
      this.#release(oldest);
      slot = this.#takeFree();
    } else if (this.#free !== NONE) {
      slot = this.#takeFree();
    } else {
      if (this.#used === this.#capacity) this.#growTo(Math.min(this.#max, Math.max(FIRST_CAPACITY, this.#capacity * 2)));
      slot = this.#used++;
    }
    this.#names[slot] = name;
    this.#kinds[slot] = kind;
    this.#byName[kind]!.set(name, slot);
    this.#linkNewest(slot);
    this.#size++;
    return slot;
  }

  #release(slot: number): void {
    this.#byName[this.#kinds[slot]!]!.delete(this.#names[slot]!);
    this.#names[slot] = undefined;
    this.#unlink(slot);
    this.#older[slot] = this.#free;
    this.#free = slot;
    this.#size--;
  }

  #takeFree(): number {
    const slot = this.#free;
    this.#free = this.#older[slot]!;
    return slot;
  }

  #linkNewest(slot: number): void {
    this.#older[slot] = this.#newest;
    this.#newer[slot] = NONE;
    if (this.#newest !== NONE) this.#newer[this.#newest] = slot;
    else this.#oldest = slot;
    this.#newest = slot;
  }

  #unlink(slot: number): void {
    const older = this.#older[slot]!;
    const newer = this.#newer[slot]!;
    if (older !== NONE) this.#newer[older] = newer;
    else this.#oldest = newer;
    if (newer !== NONE) this.#older[newer] = older;
    else this.#newest = older;
  }

  #growTo(capacity: number): void {
    this.#kinds = grown(this.#kinds, new Uint8Array(capacity));
    this.#older = grown(this.#older, new Int32Array(capacity));
    this.#newer = grown(this.#newer, new Int32Array(capacity));
    this.#grow(capacity);
    this.#capacity = capacity;
  }
}
