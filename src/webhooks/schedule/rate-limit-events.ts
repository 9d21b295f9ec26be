import { keyEventData } from "../webhook-event.js";
import type { RateLimitNote, RateLimitNotes } from "./rate-limit-notes.js";
import { eachTakenNote, type NoteEventsDeps } from "./taken-notes.js";

/**
 * `rate_limit.exceeded`, made off the hot path from what Check noted (RateLimitNotes): one event
 * per key and window of its limit, its id derived from the key and the window's start, so the
 * replicas that each saw the key denied in that window make the same event and the store queues
 * it once.
 */
export class RateLimitEvents {
  readonly #deps: NoteEventsDeps<RateLimitNotes>;

  constructor(deps: NoteEventsDeps<RateLimitNotes>) {
    this.#deps = deps;
  }

  /** Queues the events of the notes taken now; throws the first failure once every note was tried. */
  run(nowMs: number): Promise<void> {
    return eachTakenNote(this.#deps, nowMs, "rate-limited keys not noted for rate_limit.exceeded: the notes were full", (note) => this.#queue(note, nowMs));
  }

  #queue(note: RateLimitNote, nowMs: number): Promise<boolean> {
    const { keyId, organizationId, limit, windowStartMs, windowEndMs } = note;
    return this.#deps.once.enqueue({ type: "rate_limit.exceeded", organizationId, once: `${keyId}/${windowStartMs}` }, nowMs, async () => {
      const key = await this.#deps.keys.findById(organizationId, keyId);
      if (key === null) return null;
      return {
        ...keyEventData(key),
        limit: { limit: limit.limit, period: limit.period },
        window_start: new Date(windowStartMs).toISOString(),
        window_end: new Date(windowEndMs).toISOString(),
      };
    });
  }
}
