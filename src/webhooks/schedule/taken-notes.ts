import type { Logger } from "../../log/logger.js";
import type { KeyRepository } from "../../store/store.js";
import type { OnceEvents } from "./once-events.js";

/**
 * What the events made from Check's notes share (RateLimitEvents from RateLimitNotes,
 * CreditLowEvents from CreditNotes): Check only notes, bounded, in memory; each scheduler pass
 * takes the notes and makes their events, and a note whose event could not be made is offered
 * again at the next pass.
 */

/** Notes as a pass takes them. */
export interface TakenNotes<N> {
  /** The notes not taken yet, marked taken. */
  take(nowMs: number): N[];
  /** The note's event was not made: the next take offers it again. */
  untake(note: N): void;
  /** Notes not made since the last call because the notes were full; resets the count. */
  takeDropped(): number;
}

/** What such events are made with: the notes, the key each is about, and once-only queueing. */
export interface NoteEventsDeps<Notes> {
  notes: Notes;
  keys: Pick<KeyRepository, "findById">;
  once: OnceEvents;
  logger: Pick<Logger, "warn">;
}

/**
 * Hands each note taken now to `handle`; a note it throws for is untaken, and the first failure
 * is thrown once every note was tried. What the full notes dropped is logged as `dropped`.
 */
export async function eachTakenNote<N>(deps: NoteEventsDeps<TakenNotes<N>>, nowMs: number, dropped: string, handle: (note: N) => Promise<unknown>): Promise<void> {
  const count = deps.notes.takeDropped();
  if (count > 0) deps.logger.warn({ dropped: count }, dropped);
  let failure: unknown;
  for (const note of deps.notes.take(nowMs)) {
    try {
      await handle(note);
    } catch (error) {
      deps.notes.untake(note);
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}
