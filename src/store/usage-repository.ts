import type { KeyDayUsage } from "../model/usage-tally.js";
import type { DayRange } from "../time/utc-days.js";

/**
 * Where usage is kept: one pre-aggregated record per key and UTC day (outcome, endpoint and
 * access-log counters), plus each key's lifetime totals. The recorder writes batches; queries
 * read days × keys records, never single requests. Both stores pass test/store/contract.ts.
 */

/** A key-day's increments in one batch, and when the stored day may be dropped (retention). */
export interface KeyDayDelta extends KeyDayUsage {
  expireAtMs: number;
}

export interface UsageBatch {
  /**
   * Unique per batch. Applying a batch whose id a record has already taken changes nothing for
   * that record, so a batch whose write failed halfway (or whose acknowledgement was lost) can be
   * applied again, unchanged, without doubling anything.
   */
  id: string;
  /** At most one entry per key and day. */
  entries: KeyDayDelta[];
}

export interface RejectedEntry {
  keyId: string;
  day: string;
  reason: string;
}

export interface ApplyResult {
  /** Entries the store refused for good (e.g. a document too large); the rest were applied. */
  rejected: RejectedEntry[];
}

export interface KeyLifetimeUsage {
  /** Check decisions for the key since its first recorded use. */
  requests: number;
  /** The last allowed request. */
  lastUsedAtMs: number | null;
}

export interface UsageDaysQuery {
  /** Only these keys; absent: every key of the organization. */
  keyIds?: readonly string[];
  /** False leaves `endpoints` empty (cheaper when only totals are wanted). Default true. */
  withEndpoints?: boolean;
}

export interface UsageRepository {
  /** Adds the batch's counters. Throws when it may not have been applied in full: apply it again. */
  apply(batch: UsageBatch): Promise<ApplyResult>;
  /** The organization's key-days within `range`, ordered by day then key id. */
  days(organizationId: string, range: DayRange, query?: UsageDaysQuery): Promise<KeyDayUsage[]>;
  /** Lifetime totals of the given keys of the organization; keys never used are absent. */
  keyTotals(organizationId: string, keyIds: readonly string[]): Promise<Map<string, KeyLifetimeUsage>>;
  /** The organization's allowed Check decisions over `range` (what its monthly quota counts). */
  allowedRequests(organizationId: string, range: DayRange): Promise<number>;
}
