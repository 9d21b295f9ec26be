import { LRUCache } from "lru-cache";
import type { IdentityRecord } from "../model/identities.js";
import { growingEntryBound } from "../model/entry-bound.js";
import type { LimitedIdentity } from "../limits/check-limits.js";
import { SingleFlight } from "./single-flight.js";

/**
 * Identities as Check's limits read them (issue 19): a key with an identity spends its identity's
 * limits too, and a Check on a cache hit makes no store round trip for it. Entries are found by
 * the identity's id alone (a string the cached key already holds: nothing is built per Check)
 * and checked against the key's organization, so a key never spends another tenant's identity.
 *  - LRU-bounded, each entry trusted for `ttlMs` (the safety net under the change feed);
 *  - an identity that is not there (deleted) is remembered as null: the key keeps working under
 *    its own limits only (docs/limits.md);
 *  - concurrent misses share one load (single-flight); a change announced while a load runs
 *    detaches it, so what it read is not cached;
 *  - changes: `invalidate` for this process's own (the admin service) and for other replicas'
 *    (the change feed's `{kind: "identity"}` entries); `clear` when the feed lost track.
 * A load that fails rejects: the Check answers unavailable, as for a key it cannot read.
 */

/** The narrow read the composition root wires to the store's identities. */
export type LoadIdentity = (organizationId: string, identityId: string) => Promise<IdentityRecord | null>;

export interface IdentityCacheOptions {
  loadIdentity: LoadIdentity;
  /** How long an entry (an identity or its absence) is used before it is read again. */
  ttlMs: number;
  /** Most identities held; default 100,000. */
  maxEntries?: number;
}

/** What the cache holds of an identity: what the limits read, and whose it is. */
export interface CachedIdentity extends LimitedIdentity {
  readonly organizationId: string;
}

/** lru-cache holds no null: an identity known to be absent is this. */
const ABSENT = Object.freeze({ absent: true as const });
type Entry = CachedIdentity | typeof ABSENT;

export class IdentityCache {
  readonly #load: LoadIdentity;
  readonly #entries: LRUCache<string, Entry>;
  readonly #flights = new SingleFlight<string, Entry>();

  constructor(options: IdentityCacheOptions) {
    this.#load = options.loadIdentity;
    this.#entries = new LRUCache<string, Entry>({ ...growingEntryBound(options.maxEntries ?? 100_000), ttl: options.ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The identity as cached: null when it is absent or another organization's, undefined when it must be loaded. */
  cached(organizationId: string, identityId: string): CachedIdentity | null | undefined {
    const entry = this.#entries.get(identityId);
    if (entry === undefined) return undefined;
    return "absent" in entry || entry.organizationId !== organizationId ? null : entry;
  }

  /** Loads the identity into the cache (one load per identity at a time); resolves with what `cached` then answers. */
  async load(organizationId: string, identityId: string): Promise<CachedIdentity | null> {
    const entry = await this.#flights.run(
      identityId,
      async () => toEntry(await this.#load(organizationId, identityId)),
      (loaded, stale) => {
        if (!stale) this.#entries.set(identityId, loaded);
      },
    );
    return "absent" in entry || entry.organizationId !== organizationId ? null : entry;
  }

  /**
   * Check's lookup for a key (decision.ts IdentityLookup): the cached identity, null, or the load
   * to wait for before deciding again.
   */
  lookup(key: { readonly organizationId: string; readonly identityId?: string | undefined }): CachedIdentity | null | Promise<unknown> {
    if (key.identityId === undefined) return null;
    const cached = this.cached(key.organizationId, key.identityId);
    return cached !== undefined ? cached : this.load(key.organizationId, key.identityId);
  }

  /** The identity changed or is gone: read it again when next needed. */
  invalidate(identityId: string): void {
    this.#entries.delete(identityId);
    this.#flights.forget(identityId);
  }

  clear(): void {
    this.#entries.clear();
  }
}

function toEntry(record: IdentityRecord | null): Entry {
  if (record === null) return ABSENT;
  // Only what the limits read: the name, meta and the rest stay in the store.
  return Object.freeze({
    id: record.id,
    organizationId: record.organizationId,
    limits: Object.freeze(record.limits.map((limit) => Object.freeze({ ...limit }))),
    credits: record.credits,
  });
}
