import type { CreditLine, CreditOwner } from "../../limits/credit-lines.js";

/**
 * The Check path's part in `key.credits_low`: it only notes. Each Check that looked at a balance
 * of credits (admitted, or denied CREDITS_EXHAUSTED by it) notes what it saw left of it here, by
 * the balance's bucket (credit-lines.ts: whose balance, when set, which refill window); the
 * webhook scheduler takes the notes off the hot path (CreditLowEvents), judges each against its
 * organization's `credits_low_threshold_percent`, and makes one event per bucket.
 *
 * A bucket whose event is made costs a Check one map lookup, nothing allocated; a bucket noted
 * and not yet taken has its note overwritten in place (the latest balance wins). A note the
 * scheduler took and found not low is forgotten, and the bucket's next Check notes it again. The
 * notes are bounded: once `maxBuckets` buckets are noted, further buckets are counted as dropped
 * (their next Check after a pass frees room tries again). A bucket whose event is made is
 * remembered until its window ends, or for `rememberFiredMs` at most (a balance with no refill
 * never ends); once forgotten, its next note costs the scheduler no store write (OnceEvents
 * remembers the event, and the store queues its id once).
 */

/** The key as Check holds it (src/cache/cached-key.ts has this shape). */
export interface CreditedKeyRef {
  readonly id: string;
  readonly organizationId: string;
  readonly identityId?: string | undefined;
}

/** What a Check last saw of one balance in one window. */
export interface CreditNote {
  readonly bucket: string;
  readonly owner: CreditOwner;
  /** The key that spent it last (an identity's balance is spent by all of its keys). */
  keyId: string;
  readonly organizationId: string;
  /** The identity whose balance it is; null for the key's own. */
  readonly identityId: string | null;
  /** What the window allows, and when it ends (the next refill; null: none). */
  readonly limit: number;
  readonly endMs: number | null;
  left: number;
  /** Taken by the scheduler, which is judging it (or made its event). */
  taken: boolean;
  /** When its event was made; null until then. */
  firedAtMs: number | null;
}

/** What AuthorizationDeps takes: the one call Check makes. */
export interface CreditObserver {
  /** A Check by `key` saw the balance of `line` (its own, or its identity's) with `left` left. */
  creditSeen(key: CreditedKeyRef, line: CreditLine, left: number): void;
}

export class CreditNotes implements CreditObserver {
  readonly #notes = new Map<string, CreditNote>();
  /** The buckets whose event is made, oldest first: the room a new bucket takes when the notes are full. */
  readonly #fired = new Set<string>();
  readonly #maxBuckets: number;
  readonly #rememberFiredMs: number;
  #dropped = 0;

  constructor(options: { maxBuckets?: number; rememberFiredMs?: number } = {}) {
    this.#maxBuckets = options.maxBuckets ?? 10_000;
    this.#rememberFiredMs = options.rememberFiredMs ?? 3_600_000;
  }

  creditSeen(key: CreditedKeyRef, line: CreditLine, left: number): void {
    const known = this.#notes.get(line.bucket);
    if (known !== undefined) {
      if (known.firedAtMs !== null) return;
      if (!known.taken) {
        known.left = left;
        known.keyId = key.id;
        return;
      }
      // Taken and being judged: a fresh note takes its place, judged on the next pass.
    } else if (this.#notes.size >= this.#maxBuckets && !this.#evictFired()) {
      this.#dropped++;
      return;
    }
    this.#notes.set(line.bucket, {
      bucket: line.bucket,
      owner: line.owner,
      keyId: key.id,
      organizationId: key.organizationId,
      identityId: line.owner === "identity" ? (key.identityId ?? null) : null,
      limit: line.limit,
      endMs: line.endMs,
      left,
      taken: false,
      firedAtMs: null,
    });
  }

  /**
   * The notes not taken yet, marked taken; notes whose event was made and whose window ended by
   * `nowMs` (or made longer than rememberFiredMs ago) are forgotten, which frees their room. Each
   * taken note is then `fired`, `forget`-ten (not low) or `untake`-n (its event could not be made).
   */
  take(nowMs: number): CreditNote[] {
    const fresh: CreditNote[] = [];
    for (const [bucket, note] of this.#notes) {
      if (note.firedAtMs !== null) {
        if ((note.endMs !== null && note.endMs <= nowMs) || nowMs - note.firedAtMs >= this.#rememberFiredMs) this.#forgetFired(bucket);
      } else if (!note.taken) {
        note.taken = true;
        fresh.push(note);
      }
    }
    return fresh;
  }

  /** The note's event is made: Checks of its bucket are skipped from now on. */
  fired(note: CreditNote, nowMs: number): void {
    note.firedAtMs = nowMs;
    this.#notes.set(note.bucket, note);
    this.#fired.add(note.bucket);
  }

  /**
   * Makes room by forgetting the oldest bucket whose event is made, if any: notes that only spare
   * a lookup must not keep out balances not judged yet (one organization setting balance after
   * balance low would otherwise hold every other organization's out). Noted again, such a bucket
   * costs one judgment and no second event (OnceEvents, and the store queues its id once).
   */
  #evictFired(): boolean {
    const oldest = this.#fired.values().next();
    if (oldest.done === true) return false;
    this.#forgetFired(oldest.value);
    return true;
  }

  #forgetFired(bucket: string): void {
    this.#fired.delete(bucket);
    this.#notes.delete(bucket);
  }

  /** The note was not low: dropped, unless a Check noted the bucket anew meanwhile. */
  forget(note: CreditNote): void {
    if (this.#notes.get(note.bucket) === note) this.#notes.delete(note.bucket);
  }

  /** The note's event was not made (the store failed): the next take offers it again. */
  untake(note: CreditNote): void {
    if (this.#notes.get(note.bucket) === note) note.taken = false;
  }

  /** Buckets not noted since the last call because the notes were full; resets the count. */
  takeDropped(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }
}
