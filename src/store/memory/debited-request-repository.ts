import type { DebitedRequestRepository } from "../debited-request-repository.js";

/**
 * Debited requests in a Map, in the order they were recorded. Their expiries follow the entries'
 * times, which arrive nearly in order, so each record drops the expired ones from the front and
 * memory holds about a lifetime's worth (a little more where late entries stand behind newer ones).
 */
export class MemoryDebitedRequestRepository implements DebitedRequestRepository {
  readonly #expiries = new Map<string, Date>();

  async record(organizationId: string, requestId: string, expiresAt: Date, now: Date): Promise<boolean> {
    for (const [id, expiry] of this.#expiries) {
      if (expiry > now) break;
      this.#expiries.delete(id);
    }
    const id = `${organizationId}\0${requestId}`;
    const held = this.#expiries.get(id);
    if (held !== undefined && held > now) return false;
    this.#expiries.delete(id);
    this.#expiries.set(id, expiresAt);
    return true;
  }

  async forget(organizationId: string, requestId: string): Promise<void> {
    this.#expiries.delete(`${organizationId}\0${requestId}`);
  }
}
