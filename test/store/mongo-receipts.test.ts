import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Receipt } from "../../src/store/receipt-repository.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";

/**
 * On a replica set (the run's shared mongod), two units that each look for a receipt and save it
 * when there is none are serialised by their transactions: one saves, the other runs again and
 * finds it. This is what lets two concurrent retries of one change make it once. (A standalone
 * mongod has no transactions: there both may save, and the second is refused as a duplicate.)
 */
describe("MongoDB receipts in units of work on a replica set", () => {
  let fresh: FreshMongoStore;
  beforeAll(async () => {
    fresh = await freshMongoStore();
  });
  afterAll(async () => {
    await fresh?.cleanup();
  });

  const now = new Date("2031-03-02T11:30:00.000Z");
  const aReceipt = (id: string): Receipt => ({
    id,
    sealed: { nonce: randomBytes(12).toString("base64url"), ciphertext: randomBytes(48).toString("base64url") },
    expiresAt: new Date(now.getTime() + 60_000),
  });

  it("lets one of several units racing to save the same id win, and the others then find its receipt", async () => {
    const { store } = fresh;
    const id = randomBytes(32).toString("base64url");
    const unit = (receipt: Receipt) =>
      store.atomically(async () => {
        const found = await store.receipts.find(id, now);
        if (found !== null) return found;
        await store.receipts.save(receipt, now);
        return receipt;
      });
    const answers = await Promise.all(Array.from({ length: 4 }, () => unit(aReceipt(id))));
    for (const answer of answers) expect(answer).toStrictEqual(answers[0]);
    expect(await store.receipts.find(id, now)).toStrictEqual(answers[0]);
  });
});
