import type { KeyRecord } from "../model/records.js";

/**
 * Debiting credits after the fact (issue 19's cost from the response, docs/response-cost.md):
 * what an upstream reported for a request Check already admitted. A debit spends past what
 * Checks left if it must, down to zero and never below in what any balance reports, and the next
 * Check of the key or its identity, on any replica, sees it (denied CREDITS_EXHAUSTED at zero).
 */
export interface CreditDebits {
  /**
   * Debits `amount` from the key's credits and its identity's (those that hold credits); false
   * when neither does, and nothing was debited. `requestId` is Envoy's, for the log: the caller
   * has already made sure the request is debited once.
   */
  debitCredits(key: Pick<KeyRecord, "id" | "organizationId" | "credits" | "identityId">, amount: number, requestId: string): Promise<boolean>;
}
