import type { Receipt, ReceiptRepository } from "../receipt-repository.js";
import { copy } from "./copy.js";

/**
 * Receipts in a Map, in insertion order. keygate saves every receipt with the same lifetime, so
 * the first to expire are at the front: each save drops the expired ones from there, and memory
 * holds about a lifetime's worth.
 */
export class MemoryReceiptRepository implements ReceiptRepository {
  readonly #receipts = new Map<string, Receipt>();

  async find(id: string, now: Date): Promise<Receipt | null> {
    const receipt = this.#receipts.get(id);
    return receipt !== undefined && receipt.expiresAt > now ? copy(receipt) : null;
  }

  async save(receipt: Receipt, now: Date): Promise<void> {
    for (const [id, held] of this.#receipts) {
      if (held.expiresAt > now) break;
      this.#receipts.delete(id);
    }
    const held = this.#receipts.get(receipt.id);
    if (held !== undefined && held.expiresAt > now) throw new Error("duplicate receipt");
    // Deleted first, so a replaced receipt moves to the back with its new expiry.
    this.#receipts.delete(receipt.id);
    this.#receipts.set(receipt.id, copy(receipt));
  }
}
