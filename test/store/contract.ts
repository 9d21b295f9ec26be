import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.js";
import { describeUsageContract } from "./contract/usage.js";
import { describeAuditContract } from "./contract/audit.js";
import { describeCounterRepairContract, type WriteCounter } from "./contract/counter-repair.js";
import { describeKeyAsSeenContract } from "./contract/key-as-seen.js";
import { describeKeyLimitsContract } from "./contract/key-limits.js";
import { describeKeyListingContract } from "./contract/key-listing.js";
import { describeKeyListFiltersContract } from "./contract/key-list-filters.js";
import { describeKeyRecordsContract } from "./contract/key-records.js";
import { describeKeyRevokeAndDeleteContract } from "./contract/key-revoke-and-delete.js";
import { describeKeySecretsContract } from "./contract/key-secrets.js";
import { describeDeletedKeysContract } from "./contract/deleted-keys.js";
import { describeOrganizationsContract } from "./contract/organizations.js";
import { describeBudgetLeasesContract } from "./contract/budget-leases.js";
import { describeReplicaRegistryContract } from "./contract/replica-registry.js";
import { describeReceiptsContract } from "./contract/receipts.js";
import { describeDebitedRequestsContract } from "./contract/debited-requests.js";
import { describeUsersContract } from "./contract/users.js";
import { describeKeyScheduleContract } from "./contract/key-schedule.js";
import { describeWebhookEndpointsContract } from "./contract/webhook-endpoints.js";
import { describeWebhookOutboxContract } from "./contract/webhook-outbox.js";
import { describeWebhookClaimsContract } from "./contract/webhook-claims.js";
import { describeIdentitiesContract } from "./contract/identities.js";

/**
 * The one contract every store keeps (src/store/store.ts). Each implementation runs it from its own
 * test file. A store is made once per file; every test works in organizations of its own, so tests
 * do not see each other's keys and also exercise tenant isolation as they go.
 *
 * The contract is written one repository (and, for keys, one concern) per file under contract/; each
 * part takes the store in a beforeAll of its own, which vitest runs after the one here that makes it
 * (one suite's beforeAll hooks run in the order they are declared).
 */

export interface StoreUnderTest {
  store: Store;
  cleanup(): Promise<void>;
  /** For a store whose counters can drift from what they count: writes one directly. */
  writeCounter?: WriteCounter;
  /**
   * A unit's writes are made one by one (a standalone mongod, which has no transactions): one that
   * fails keeps those it made, so the tests of a failed unit's rollback are skipped.
   */
  unitsWithoutRollback?: boolean;
}

export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`${name} store contract`, () => {
    let underTest: StoreUnderTest | undefined;
    let store: Store;

    beforeAll(async () => {
      underTest = await makeStore();
      store = underTest.store;
    });

    afterAll(async () => {
      await underTest?.cleanup();
    });

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      await expect(store.ping(new AbortController().signal)).resolves.toBeUndefined();
    });

    it("gives up a ping whose signal has aborted, with the signal's reason", async () => {
      await expect(store.ping(AbortSignal.abort(new Error("readiness deadline")))).rejects.toThrow("readiness deadline");
    });

    const getStore = () => store;
    describeKeyRecordsContract(getStore);
    describeKeyListingContract(getStore);
    describeKeyListFiltersContract(getStore);
    describeKeyRevokeAndDeleteContract(getStore);
    describeKeySecretsContract(getStore);
    describeDeletedKeysContract(getStore);
    describeKeyLimitsContract(getStore);
    describeKeyAsSeenContract(getStore);
    describeKeyScheduleContract(getStore);
    describeOrganizationsContract(getStore);
    describeUsersContract(getStore);
    describeAuditContract(getStore);
    describeBudgetLeasesContract(getStore);
    describeReplicaRegistryContract(getStore);
    describeUsageContract(getStore);
    describeIdentitiesContract(getStore);
    describeReceiptsContract(getStore);
    describeDebitedRequestsContract(getStore);
    describeWebhookEndpointsContract(getStore);
    describeWebhookOutboxContract(getStore, () => underTest?.unitsWithoutRollback !== true);
    describeWebhookClaimsContract(getStore);
    describeCounterRepairContract(getStore, () => underTest?.writeCounter);
  });
}
