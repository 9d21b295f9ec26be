import type { KeyRecord } from "../model/records.js";

/** What another replica must apply to its caches. */
export type StoreChange =
  /**
   * A key changed or disappeared: the hashes it could be found by before the change, and the key
   * as it is after it (null: deleted). The record never carries the key's sealed secret.
   */
  | { kind: "key"; hashes: string[]; key: KeyRecord | null }
  /** An organization's plan changed: every cached key of it carries the old plan. */
  | { kind: "organization"; organizationId: string }
  /** An identity's limits or credits changed, or it was deleted: replicas read it again when next needed. */
  | { kind: "identity"; organizationId: string; identityId: string };

export interface ChangeLogEntry {
  id: string;
  change: StoreChange;
}

/**
 * Entries pushed by the store as they are appended. Iterating throws when the stream breaks in a
 * way the driver could not resume; close() ends the iteration.
 */
export interface ChangeLogStream extends AsyncIterable<ChangeLogEntry> {
  close(): Promise<void>;
}

/**
 * The change log replicas share (src/cache/change-feed.ts). The store appends to it itself: every
 * write that changes what a Check decides (a key updated, disabled, revoked, deleted or rotated,
 * keys re-bounded, a plan changed, an identity's limits or credits changed, an identity deleted)
 * appends its entry in the same unit of work, so the change and its entry commit together.
 * Entries are stamped with the store's own clock, so replicas' clock skew does not matter, and
 * expire on their own after a while. A store used by one process alone keeps no entries.
 */
export interface ChangeLogRepository {
  /** Entries stamped within the last `windowMs` of the store's clock, oldest first. */
  recent(windowMs: number): Promise<ChangeLogEntry[]>;
  /**
   * The entries appended from now on, as they are appended: every entry appended after the
   * promise resolves is delivered, and a few from just before may be too. Null when the store
   * cannot push them (a standalone mongod): then recent() is all there is. Optional, because
   * only a store shared by several processes has entries from others to push.
   */
  watch?(): Promise<ChangeLogStream | null>;
  /**
   * Calls `listener` whenever the store's members elect a new primary, until the returned function
   * is called. Optional: only a replicated store has elections. What the old primary acknowledged
   * becomes readable (majority-committed) again only once the new one commits in its term, a
   * moment after its election, so the feed polls briskly for a while then.
   */
  onNewPrimary?(listener: () => void): () => void;
}
