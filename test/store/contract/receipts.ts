import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Receipt } from "../../../src/store/receipt-repository.js";
import type { Store } from "../../../src/store/store.js";
import { T1, T2 } from "./fixtures.js";

/** Idempotency receipts: found by id until they expire, never overwritten while alive. */
export function describeReceiptsContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  describe("receipts", () => {
    const aReceipt = (expiresAt: Date, id = randomBytes(32).toString("base64url")): Receipt => ({
      id,
      sealed: { nonce: randomBytes(12).toString("base64url"), ciphertext: randomBytes(48).toString("base64url") },
      expiresAt,
    });
    const before = (date: Date) => new Date(date.getTime() - 1);

    it("finds a saved receipt exactly as saved, and nothing under another id", async () => {
      const receipt = aReceipt(T2);
      await store.receipts.save(receipt, T1);
      expect(await store.receipts.find(receipt.id, T1)).toStrictEqual(receipt);
      expect(await store.receipts.find(aReceipt(T2).id, T1)).toBeNull();
    });

    it("no longer finds a receipt once it has expired", async () => {
      const receipt = aReceipt(T2);
      await store.receipts.save(receipt, T1);
      expect(await store.receipts.find(receipt.id, before(T2))).toStrictEqual(receipt);
      expect(await store.receipts.find(receipt.id, T2)).toBeNull();
    });

    it("refuses a second receipt under a live one's id, keeping the first", async () => {
      const first = aReceipt(T2);
      await store.receipts.save(first, T1);
      await expect(store.receipts.save(aReceipt(T2, first.id), T1)).rejects.toThrow(/duplicate receipt/);
      expect(await store.receipts.find(first.id, T1)).toStrictEqual(first);
    });

    it("replaces an expired receipt with a new one under its id", async () => {
      const old = aReceipt(T1);
      await store.receipts.save(old, before(T1));
      const fresh = aReceipt(new Date(T2.getTime() + 60_000), old.id);
      await store.receipts.save(fresh, T2);
      expect(await store.receipts.find(old.id, T2)).toStrictEqual(fresh);
    });
  });
}
