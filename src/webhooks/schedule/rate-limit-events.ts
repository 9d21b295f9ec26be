import type { Logger } from "../../log/logger.js";
import type { KeyRepository } from "../../store/store.js";
import { keyEventData } from "../webhook-event.js";
import type { OnceEvents } from "./once-events.js";
import type { RateLimitNote, RateLimitNotes } from "./rate-limit-notes.js";

/**
 * `rate_limit.exceeded`, made off the hot path from what Check noted (RateLimitNotes): one event
 * per key and window of its limit, its id derived from the key and the window's start, so the
 * replicas that each saw the key denied in that window make the same event and the store queues
 * it once.
 */
export class RateLimitEvents {
  readonly #notes: RateLimitNotes;
  readonly #keys: Pick<KeyRepository, "findById">;
  readonly #once: OnceEvents;
  readonly #logger: Pick<Logger, "warn">;

  constructor(deps: { notes: RateLimitNotes; keys: Pick<KeyRepository, "findById">; once: OnceEvents; logger: Pick<Logger, "warn"> }) {
    this.#notes = deps.notes;
    this.#keys = deps.keys;
    this.#once = deps.once;
    this.#logger = deps.logger;
  }

  /** Queues the events of the notes taken now; throws the first failure once every note was tried. */
  async run(nowMs: number): Promise<void> {
    const dropped = this.#notes.takeDropped();
    if (dropped > 0) this.#logger.warn({ dropped }, "rate-limited keys not noted for rate_limit.exceeded: the notes were full");
    let failure: unknown;
    for (const note of this.#notes.take(nowMs)) {
      try {
        await this.#queue(note, nowMs);
      } catch (error) {
        this.#notes.untake(note);
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  #queue(note: RateLimitNote, nowMs: number): Promise<boolean> {
    const { keyId, organizationId, limit, windowStartMs, windowEndMs } = note;
    return this.#once.enqueue({ type: "rate_limit.exceeded", organizationId, once: `${keyId}/${windowStartMs}` }, nowMs, async () => {
      const key = await this.#keys.findById(organizationId, keyId);
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
