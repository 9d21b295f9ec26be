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
   * is never replaced: the call throws (`duplicate receipt`) having written nothing. Two units of
   * work (Store.atomically) that look for a receipt and save it are serialised where units are
   * isolated (the embedded store, a MongoDB replica set): the later one runs again and finds the
   * other's. A standalone mongod has no transactions, so there both may save and one throws.
   */
  save(receipt: Receipt, now: Date): Promise<void>;
}
