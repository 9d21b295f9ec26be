import type { KeyRepository } from "../../store/store.js";
import { keyEventData } from "../webhook-event.js";
import { keysExpiringBetween } from "./expiring-keys.js";
import type { OnceEvents } from "./once-events.js";

/**
 * `key.expired`: once per key and expiry, for usable keys whose expiry has passed. Each pass
 * looks at the expiries since the previous one, reaching back `overlapMs` further (a key written
 * with an expiry a moment before this replica's clock, by a replica whose clock is behind, or
 * committed while the last pass read), so none falls between two passes. A scheduler that has
 * not run before in this process (a start, or a fleet that was down) looks back `catchUpMs`:
 * keys that expired longer ago than that while no scheduler ran anywhere get no event. The id is
 * derived from the key's id and its `expires_at`, so the overlap and the other replicas make the
 * same event, and a key given a new expiry that passes too is announced again.
 */
export class ExpiryNotices {
  readonly #keys: Pick<KeyRepository, "listExpiringBetween">;
  readonly #once: OnceEvents;
  readonly #pageSize: number;
  readonly #overlapMs: number;
  readonly #catchUpMs: number;
  /** Expiries up to here were announced by an earlier pass of this process. */
  #doneUpToMs: number | undefined;

  constructor(deps: { keys: Pick<KeyRepository, "listExpiringBetween">; once: OnceEvents; pageSize: number; overlapMs: number; catchUpMs: number }) {
    this.#keys = deps.keys;
    this.#once = deps.once;
    this.#pageSize = deps.pageSize;
    this.#overlapMs = deps.overlapMs;
    this.#catchUpMs = deps.catchUpMs;
  }

  async run(nowMs: number): Promise<void> {
    const fromMs = this.#doneUpToMs === undefined ? nowMs - this.#catchUpMs : Math.min(this.#doneUpToMs - this.#overlapMs, nowMs);
    for await (const key of keysExpiringBetween(this.#keys, new Date(fromMs), new Date(nowMs), this.#pageSize)) {
      const once = `${key.id}/${key.expiresAt.toISOString()}`;
      await this.#once.enqueue({ type: "key.expired", organizationId: key.organizationId, once }, nowMs, () => keyEventData(key));
    }
    // Only a pass that went through moves on: a failed one is looked at again from the same point.
    this.#doneUpToMs = nowMs;
  }
}
