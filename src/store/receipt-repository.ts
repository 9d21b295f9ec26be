/**
 * Idempotency receipts: the first answer to a change RPC sent with an idempotency key, kept so
 * a retry gets that answer instead of a second change (src/admin/idempotent-changes.ts). The
 * store holds them opaque: the id is a keyed hash and the contents are sealed
 * (src/crypto/receipt-sealing.ts), so it can neither read one nor tie it to a caller or a
 * request. Both stores pass test/store/contract/receipts.ts.
 */
export interface Receipt {
  /** Derived from the caller key and the idempotency key; says nothing without the pepper. */
  id: string;
  /** The answer and the request it answered, sealed (AES-256-GCM, base64url). */
  sealed: { nonce: string; ciphertext: string };
  /** From then on the receipt is gone: find() no longer sees it, and the store may drop it. */
  expiresAt: Date;
}

export interface ReceiptRepository {
  /** The receipt with this id, unless it has expired by `now`. */
  find(id: string, now: Date): Promise<Receipt | null>;
  /**
   * Adds the receipt, in place of one with its id that has expired by `now`. One that has not
   * is never replaced: the call throws (`duplicate receipt`) having written nothing. Inside a
   * unit of work (Store.atomically) two units saving the same id conflict, and the one that
   * loses runs again, finding the other's receipt.
   */
  save(receipt: Receipt, now: Date): Promise<void>;
}
