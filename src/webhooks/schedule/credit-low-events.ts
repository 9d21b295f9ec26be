import { creditsLow } from "../../model/credits-low.js";
import { settingsOf } from "../../model/organization-settings.js";
import { keyEventData } from "../webhook-event.js";
import type { CreditNote, CreditNotes } from "./credit-notes.js";
import type { OrganizationsOfPass } from "./organizations-of-pass.js";
import { eachTakenNote, type NoteEventsDeps } from "./taken-notes.js";

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
  readonly #deps: NoteEventsDeps<CreditNotes>;

  constructor(deps: NoteEventsDeps<CreditNotes>) {
    this.#deps = deps;
  }

  /** Judges the notes taken now, queueing the events of low ones; throws the first failure once every note was tried. */
  run(nowMs: number, organizations: OrganizationsOfPass): Promise<void> {
    const notes = this.#deps.notes;
    return eachTakenNote(this.#deps, nowMs, "credit balances not noted for key.credits_low: the notes were full", async (note) => {
      if (await this.#low(note, organizations)) {
        await this.#queue(note, nowMs);
        notes.fired(note, nowMs);
      } else {
        notes.forget(note);
      }
    });
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
    return this.#deps.once.enqueue(occurrence, nowMs, async () => {
      const key = await this.#deps.keys.findById(organizationId, keyId);
      if (key === null) return null;
      return {
        ...keyEventData(key),
        ...(identityId !== null && { identity_id: identityId }),
        credits: { owner, left, limit, refills_at: endMs === null ? null : new Date(endMs).toISOString() },
      };
    });
  }
}
