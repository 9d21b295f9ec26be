import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { Store } from "../../../src/store/store.js";
import { T1, T2 } from "./fixtures.js";

/** Debited requests: recorded once per organization and request id until they expire, forgotten on demand. */
export function describeDebitedRequestsContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  describe("debited requests", () => {
    const later = new Date(T2.getTime() + 3_600_000);
    const anOrganization = () => newId("org", T1.getTime());

    it("records a request once: a second record of it while the first lives writes nothing", async () => {
      const organizationId = anOrganization();
      const requestId = randomUUID();
      expect(await store.debitedRequests.record(organizationId, requestId, T2, T1)).toBe(true);
      expect(await store.debitedRequests.record(organizationId, requestId, later, T1)).toBe(false);
      // The first record's expiry stands: it is gone at T2, not at `later`.
      expect(await store.debitedRequests.record(organizationId, requestId, later, T2)).toBe(true);
    });

    it("keeps organizations apart: one request id in two organizations is two requests", async () => {
      const requestId = randomUUID();
      expect(await store.debitedRequests.record(anOrganization(), requestId, T2, T1)).toBe(true);
      expect(await store.debitedRequests.record(anOrganization(), requestId, T2, T1)).toBe(true);
    });

    it("gives exactly one of two concurrent records of a request true", async () => {
      const organizationId = anOrganization();
      const requestId = randomUUID();
      const answers = await Promise.all([1, 2].map(() => store.debitedRequests.record(organizationId, requestId, T2, T1)));
      expect(answers.sort()).toEqual([false, true]);
    });

    it("records a forgotten request again, and forgets only that one", async () => {
      const organizationId = anOrganization();
      const [forgotten, kept] = [randomUUID(), randomUUID()];
      await store.debitedRequests.record(organizationId, forgotten, T2, T1);
      await store.debitedRequests.record(organizationId, kept, T2, T1);
      await store.debitedRequests.forget(organizationId, forgotten);
      expect(await store.debitedRequests.record(organizationId, forgotten, T2, T1)).toBe(true);
      expect(await store.debitedRequests.record(organizationId, kept, T2, T1)).toBe(false);
    });
  });
}
