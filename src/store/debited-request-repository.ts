/**
 * Requests whose response-reported cost has been debited (src/usage/response-debits.ts), by the
 * organization and Envoy's request id (`x-request-id`), so that an access-log entry Envoy sends
 * again (a retried or reconnected log stream) debits nothing twice. Each record lives until a
 * time the caller gives: past it, an entry for that request is too old to debit anyway. Both
 * stores pass test/store/contract/debited-requests.ts.
 */
export interface DebitedRequestRepository {
  /**
   * Records the organization's request as debited until `expiresAt`: true. False, writing
   * nothing, when a record of it has not expired by `now` (it was debited already). Two records
   * of one request at once: exactly one of them gets true.
   */
  record(organizationId: string, requestId: string, expiresAt: Date, now: Date): Promise<boolean>;
  /** Drops the record: the debit it stood for failed, so the entry sent again may debit. */
  forget(organizationId: string, requestId: string): Promise<void>;
}
