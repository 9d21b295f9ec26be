import type { Logger } from "../../log/logger.js";
import { creditsLow } from "../../model/credits-low.js";
import { settingsOf } from "../../model/organization-settings.js";
import type { KeyRepository } from "../../store/store.js";
import { keyEventData } from "../webhook-event.js";
import type { CreditNote, CreditNotes } from "./credit-notes.js";
import type { OnceEvents } from "./once-events.js";
import type { OrganizationsOfPass } from "./organizations-of-pass.js";

/**
 * `key.credits_low`, made off the hot path from what Check noted (CreditNotes): once per balance
 * and refill window, when what is left falls to the organization's `credits_low_threshold_percent`
 * of what the window allows (model/credits-low.ts). The event's id is derived from the balance's
 * bucket, which names whose balance it is, when it was set and the window's start, so every
 * replica that sees the balance low makes the same event and the store queues it once; a refill or
 * a balance set anew is a new bucket, and is told again when it runs low.
 *
 * A balance spent without a Check (a response-reported cost, src/usage/response-debits.ts) is
 * judged at the next Check of the key, admitted or denied CREDITS_EXHAUSTED, which notes it.
 */

/** How long the id of an event about a balance that never refills is remembered (it stays low until set anew). */
const UNENDING_REMEMBER_MS = 365 * 86_400_000;

export class CreditLowEvents {
  readonly #notes: CreditNotes;
  readonly #keys: Pick<KeyRepository, "findById">;
  readonly #once: OnceEvents;
  readonly #logger: Pick<Logger, "warn">;

  constructor(deps: { notes: CreditNotes; keys: Pick<KeyRepository, "findById">; once: OnceEvents; logger: Pick<Logger, "warn"> }) {
    this.#notes = deps.notes;
    this.#keys = deps.keys;
    this.#once = deps.once;
    this.#logger = deps.logger;
  }

  /** Judges the notes taken now, queueing the events of low ones; throws the first failure once every note was tried. */
  async run(nowMs: number, organizations: OrganizationsOfPass): Promise<void> {
    const dropped = this.#notes.takeDropped();
    if (dropped > 0) this.#logger.warn({ dropped }, "credit balances not noted for key.credits_low: the notes were full");
    let failure: unknown;
    for (const note of this.#notes.take(nowMs)) {
      try {
        if (await this.#low(note, organizations)) {
          await this.#queue(note, nowMs);
          this.#notes.fired(note, nowMs);
        } else {
          this.#notes.forget(note);
        }
      } catch (error) {
        this.#notes.untake(note);
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  async #low(note: CreditNote, organizations: OrganizationsOfPass): Promise<boolean> {
    const organization = await organizations.get(note.organizationId);
    return organization !== null && creditsLow(note.limit, note.left, settingsOf(organization).creditsLowThresholdPercent);
  }

  #queue(note: CreditNote, nowMs: number): Promise<boolean> {
    const { bucket, owner, keyId, organizationId, identityId, limit, left, endMs } = note;
    const occurrence = {
      type: "key.credits_low" as const,
      organizationId,
      once: bucket,
      ...(endMs === null && { rememberUntil: new Date(nowMs + UNENDING_REMEMBER_MS) }),
    };
    return this.#once.enqueue(occurrence, nowMs, async () => {
      const key = await this.#keys.findById(organizationId, keyId);
      if (key === null) return null;
      return {
        ...keyEventData(key),
        ...(identityId !== null && { identity_id: identityId }),
        credits: { owner, left, limit, refills_at: endMs === null ? null : new Date(endMs).toISOString() },
      };
    });
  }
}
