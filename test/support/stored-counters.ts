import type { Db } from "mongodb";
import type { CounterId } from "../../src/store/counter-repair.js";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";

/** Writes MongoDB's counter documents directly, bypassing the store, as a failover can leave them. */
export function counterWriter(db: Db): (counter: CounterId, value: number) => Promise<void> {
  return async (counter: CounterId, value: number) => {
    if (counter.counter === "owners") {
      await db.collection(COLLECTIONS.ownerCounts).updateOne({ _id: counter.organizationId as never }, { $set: { owners: value } }, { upsert: true });
    } else {
      const _id = { organizationId: counter.organizationId, ownerUserId: counter.userId ?? null };
      await db.collection(COLLECTIONS.keySlots).updateOne({ _id: _id as never }, { $set: { held: value } }, { upsert: true });
    }
  };
}

/** A fresh store with a counter writer for the store contract's counter repair tests. */
export const withCounterWriter = <T extends { db: Db }>(fresh: T) => ({ ...fresh, writeCounter: counterWriter(fresh.db) });
