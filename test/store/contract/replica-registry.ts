import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { Store } from "../../../src/store/store.js";

/** The replicas that lease: each counts as live while its last announcement lasts. */
export function describeReplicaRegistryContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  describe("replica registry", () => {
    it("counts every replica whose announcement still lasts, once however often it announced; a withdrawn one no more", async () => {
      // Other tests share the store: count relative to what is live besides these.
      const [a, b] = [newId("key").slice(4), newId("key").slice(4)];
      const withA = await store.replicas.announce(a, 60_000);
      expect(await store.replicas.announce(a, 60_000)).toBe(withA);
      expect(await store.replicas.announce(b, 60_000)).toBe(withA + 1);
      await store.replicas.withdraw(b);
      expect(await store.replicas.announce(a, 60_000)).toBe(withA);
      await store.replicas.withdraw(a);
    });

    it("an announcement that has run out no longer counts", async () => {
      const [a, b] = [newId("key").slice(4), newId("key").slice(4)];
      await store.replicas.announce(b, 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const withA = await store.replicas.announce(a, 60_000);
      const withB = await store.replicas.announce(b, 60_000);
      expect(withB).toBe(withA + 1);
      await Promise.all([store.replicas.withdraw(a), store.replicas.withdraw(b)]);
    });
  });
}
