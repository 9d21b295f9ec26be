import { LRUCache } from "lru-cache";
import { growingEntryBound } from "../model/entry-bound.js";
import type { Config } from "../config/config.js";
import type { KeyEvents } from "../keys/key-events.js";
import { hashesOf } from "../model/key-hashes.js";
import type { Logger } from "../log/logger.js";
import { noKeyCacheObserver, type CacheEviction, type KeyCacheObserver } from "../metrics/observers.js";
import { StoreUnavailableError } from "../store/errors.js";
import type { Store } from "../store/store.js";
import { organizationPlan } from "../model/plans.js";
import type { KeyRecord } from "../model/records.js";
import type { Clock } from "../time/clock.js";
import { CachedKey, type KeyOrganization } from "./cached-key.js";
import { SharedKeyParts } from "./shared-key-parts.js";
import { SingleFlight } from "./single-flight.js";

/**
 * Check's hot path: keys by secret hash, so a cache hit costs no store operation at all.
 *  - bounded by entries (cacheMaxEntries) and by estimated bytes (cacheMaxBytes), TTL cacheTtlMs;
 *  - unknown hashes are remembered for negativeCacheTtlMs, in a separately bounded cache;
 *  - concurrent misses for one hash share one store read (single-flight);
 *  - KeyEvents (update, revoke, delete, regenerate) and other replicas' changes (change-feed.ts)
 *    replace the key's entries with the record as it is now (refresh), and detach any read of
 *    them in flight so its result is not cached: a key changed just before a store outage is
 *    still served as changed through it, instead of refused; a plan change evicts the
 *    organization's plan and its keys;
 *  - fail-static: when the store cannot be read, an expired entry is served for up to
 *    cacheMaxStalenessMs past its TTL (and re-read in the background meanwhile);
 *  - a deadline: a read that has not answered within storeReadTimeoutMs fails its callers (a
 *    store that stopped answering, e.g. a connection to a primary that died, is a store that
 *    cannot be read) and is abandoned, so the next caller reads afresh instead of queueing behind it.
 * An entry is a CachedKey (cached-key.ts): what Check needs, pre-parsed, and no copy of the
 * record; the scope sets, allow-lists and rate limits that keys have alike are one shared object
 * each (shared-key-parts.ts), and so is each organization with its plan (organizations are cached
 * by id on the same terms). One entry serves both of a rotating key's hashes.
 */

export type KeyCacheConfig = Pick<
  Config,
  "cacheMaxEntries" | "cacheMaxBytes" | "cacheTtlMs" | "negativeCacheTtlMs" | "plans" | "defaultPlan"
> &
  Partial<Pick<Config, "cacheMaxStalenessMs" | "storeReadTimeoutMs">>;

export interface KeyCacheOptions {
  store: Pick<Store, "keys" | "organizations">;
  keyEvents: KeyEvents;
  clock: Clock;
  config: KeyCacheConfig;
  logger?: Pick<Logger, "warn">;
  /** Most unknown hashes remembered; default min(cacheMaxEntries, 100,000). */
  maxNegativeEntries?: number;
  /** Most organizations' plans held; default 100,000. */
  maxOrganizations?: number;
  /** Metrics: lookups and evictions of key entries; default none. */
  observer?: KeyCacheObserver;
}

/** lru-cache's reasons for removing an entry, as metrics name them (`set` replaces: not counted). */
const EVICTION_CAUSES: Partial<Record<string, CacheEviction>> = { evict: "capacity", expire: "expired", delete: "changed" };

/**
 * Heap cost of one hash's entry: the lru-cache slot (its map entry, and the list, TTL and size
 * slots it allocates for cacheMaxEntries up front), the CachedKey with its boxed times, and the
 * headers of its id and hash strings; then a byte per character of those (one-byte strings: ids
 * and hex hashes are ASCII). Measured with node --expose-gc on 64-bit Node 20, 100,000 keys of
 * realistic fields filling a cache of as many entries: ~410 bytes a key in all, estimated ~400.
 */
const ENTRY_BYTES = 300;
const PER_CHARACTER_BYTES = 1;

/**
 * The bytes an entry is charged under one hash: what it holds of its own, and its share of the
 * parts it has alike with other keys (SharedKeyParts.shareOf). Both of a rotating key's hashes
 * are charged in full (its second hash is a second slot and string; the entry is counted twice).
 */
export function estimateEntryBytes(entry: CachedKey, parts: SharedKeyParts): number {
  const own = entry.id.length + entry.secretHash.length + (entry.previousHash?.length ?? 0);
  return ENTRY_BYTES + own * PER_CHARACTER_BYTES + parts.shareOf(entry.scopes, entry.allowList, entry.rateLimit);
}

export class KeyCache {
  readonly #store: KeyCacheOptions["store"];
  readonly #config: KeyCacheConfig;
  readonly #logger: KeyCacheOptions["logger"];
  readonly #entries: LRUCache<string, CachedKey>;
  readonly #unknown: LRUCache<string, true> | null;
  readonly #organizations: LRUCache<string, KeyOrganization>;
  readonly #parts = new SharedKeyParts();
  readonly #keyReads = new SingleFlight<string, CachedKey | null>();
  readonly #organizationReads = new SingleFlight<string, KeyOrganization>();
  readonly #unsubscribe: () => void;
  readonly #unsubscribeOrganizations: () => void;
  readonly #observer: KeyCacheObserver;
  readonly #maxStalenessMs: number;
  readonly #readTimeoutMs: number | undefined;
  /** The last store read failed: serve stale entries without waiting for the next one. */
  #storeFailing = false;

  constructor(options: KeyCacheOptions) {
    const { config, clock } = options;
    this.#store = options.store;
    this.#config = config;
    this.#logger = options.logger;
    const observer = (this.#observer = options.observer ?? noKeyCacheObserver);
    const timing = { ttlResolution: 0, perf: clock, updateAgeOnGet: false } as const;
    this.#maxStalenessMs = config.cacheMaxStalenessMs ?? 0;
    this.#readTimeoutMs = config.storeReadTimeoutMs;
    this.#entries = new LRUCache<string, CachedKey>({
      ...timing,
      max: config.cacheMaxEntries,
      maxSize: config.cacheMaxBytes,
      sizeCalculation: (entry) => estimateEntryBytes(entry, this.#parts),
      ttl: config.cacheTtlMs,
      // Fail-static keeps expired entries until replaced or evicted (get() still misses them).
      noDeleteOnStaleGet: this.#maxStalenessMs > 0,
      dispose: (_entry, _hash, reason) => {
        const cause = EVICTION_CAUSES[reason];
        if (cause !== undefined) observer.evicted(cause);
      },
    });
    this.#unknown =
      config.negativeCacheTtlMs > 0
        ? new LRUCache<string, true>({
            ...timing,
            ...growingEntryBound(options.maxNegativeEntries ?? Math.min(config.cacheMaxEntries, 100_000)),
            ttl: config.negativeCacheTtlMs,
          })
        : null;
    this.#organizations = new LRUCache<string, KeyOrganization>({ ...timing, ...growingEntryBound(options.maxOrganizations ?? 100_000), ttl: config.cacheTtlMs });
    this.#unsubscribe = options.keyEvents.onChange((previously, key) => this.refresh(hashesOf(previously), key));
    this.#unsubscribeOrganizations = options.keyEvents.onOrganizationChange((organizationId) => this.evictOrganization(organizationId));
  }

  /** Entries and estimated bytes held, and unknown hashes remembered. */
  get stats(): { entries: number; bytes: number; unknown: number } {
    return { entries: this.#entries.size, bytes: this.#entries.calculatedSize, unknown: this.#unknown?.size ?? 0 };
  }

  /**
   * Synchronous look: the entry, null for a hash known to be unknown, undefined when only the
   * store can tell (then call `load`).
   */
  cached(secretHash: string): CachedKey | null | undefined {
    const entry = this.#entries.get(secretHash);
    if (entry !== undefined) {
      this.#observer.lookup("hit");
      return entry;
    }
    const unknown = this.#unknown?.get(secretHash) === true;
    this.#observer.lookup(unknown ? "negative_hit" : "miss");
    return unknown ? null : undefined;
  }

  /** The entry as cached now, without counting a lookup: a Check looking again after a wait. */
  current(secretHash: string): CachedKey | null | undefined {
    const entry = this.#entries.peek(secretHash);
    if (entry !== undefined) return entry;
    return this.#unknown?.peek(secretHash) === true ? null : undefined;
  }

  /**
   * Reads the store (once for concurrent callers) and caches the answer. Rejects when the store
   * fails, unless an expired entry within the staleness bound can stand in for the answer.
   */
  load(secretHash: string): Promise<CachedKey | null> {
    const reading = this.#load(secretHash);
    const stale = this.#maxStalenessMs > 0 ? this.#staleEntry(secretHash) : undefined;
    if (stale === undefined) return reading;
    if (this.#storeFailing) {
      // Do not make the caller wait for a store that just failed: answer now, re-read behind.
      reading.catch(() => {});
      return Promise.resolve(stale);
    }
    return reading.catch(() => stale);
  }

  /** An expired entry no older than cacheTtlMs + cacheMaxStalenessMs. */
  #staleEntry(secretHash: string): CachedKey | undefined {
    const remainingMs = this.#entries.getRemainingTTL(secretHash);
    if (remainingMs < -this.#maxStalenessMs) return undefined;
    return this.#entries.get(secretHash, { allowStale: true });
  }

  #load(secretHash: string): Promise<CachedKey | null> {
    const reading = this.#keyReads.run(
      secretHash,
      () => this.#read(secretHash),
      (entry, stale) => {
        if (stale) return;
        if (entry === null) this.#unknown?.set(secretHash, true);
        else this.#put(secretHash, entry);
      },
    );
    return this.#readTimeoutMs === undefined ? reading : this.#withinDeadline(secretHash, reading, this.#readTimeoutMs);
  }

  /** `reading` for this caller, failing once it has waited `timeoutMs`; the read is then abandoned. */
  #withinDeadline(secretHash: string, reading: Promise<CachedKey | null>, timeoutMs: number): Promise<CachedKey | null> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#storeFailing = true;
        this.#keyReads.abandon(secretHash, reading);
        reject(new StoreUnavailableError(`key read took longer than ${timeoutMs} ms (KEYGATE_STORE_READ_TIMEOUT_MS)`));
      }, timeoutMs);
    });
    // A read abandoned here may still fail later: nobody waits for it any more.
    reading.catch(() => {});
    return Promise.race([reading, deadline]).finally(() => clearTimeout(timer));
  }

  async get(secretHash: string): Promise<CachedKey | null> {
    const cached = this.cached(secretHash);
    return cached !== undefined ? cached : this.load(secretHash);
  }

  evict(secretHash: string): void {
    this.#entries.delete(secretHash);
    this.#unknown?.delete(secretHash);
    this.#keyReads.forget(secretHash);
  }

  /**
   * A key changed: its entries under `hashes` (where it was found before the change) give way to
   * `key` as it is now, under the hashes it is found by now; a key that is gone is remembered as
   * unknown. So the next Check needs no store read, which an outage would refuse, and a stale
   * read of a lagging secondary cannot bring the old record back before its TTL. Only the plan
   * of the key's organization is needed: when it is not cached, the key is only evicted.
   */
  refresh(hashes: readonly string[], key: KeyRecord | null): void {
    // Changes can arrive out of order (a commit confirmed late, the change log's poll and stream
    // crossing): a record never replaces a newer one, nor a revoked one (revocation is for good).
    if (key !== null && this.#holdsNewer(hashesOf(key), key)) return;
    for (const hash of hashes) this.evict(hash);
    if (key === null) {
      for (const hash of hashes) this.#unknown?.set(hash, true);
      return;
    }
    const organization = this.#organizations.get(key.organizationId);
    if (organization === undefined) return;
    const entry = new CachedKey(key, organization, this.#parts);
    for (const hash of hashesOf(key)) {
      this.evict(hash);
      this.#put(hash, entry);
    }
  }

  /**
   * Caches `entry` under `hash`, keyed by the entry's own string of that hash where it has one:
   * the cache's key and the entry's field are then one string, not two copies of 64 characters.
   */
  #put(hash: string, entry: CachedKey): void {
    const key = hash === entry.secretHash ? entry.secretHash : hash === entry.previousHash ? entry.previousHash : hash;
    this.#entries.set(key, entry);
  }

  #holdsNewer(hashes: readonly string[], key: KeyRecord): boolean {
    return hashes.some((hash) => {
      const held = this.#entries.get(hash, { allowStale: true });
      if (held === undefined || held.id !== key.id) return false;
      return (held.revoked && !key.revokedAt) || held.updatedAtMs > key.updatedAt.getTime();
    });
  }

  /** Drops the organization's plan and every cached key of it (they carry the plan). */
  evictOrganization(organizationId: string): void {
    this.#organizations.delete(organizationId);
    this.#organizationReads.forget(organizationId);
    // entries() skips expired entries (kept for fail-static): drop those first.
    this.#entries.purgeStale();
    const hashes: string[] = [];
    for (const [hash, entry] of this.#entries.entries()) if (entry.organizationId === organizationId) hashes.push(hash);
    for (const hash of hashes) this.evict(hash);
  }

  /** Forgets everything (changes may have been missed, e.g. after a long store outage). */
  clear(): void {
    this.#entries.purgeStale();
    for (const hash of [...this.#entries.keys()]) this.evict(hash);
    this.#unknown?.clear();
    this.#organizations.clear();
  }

  /** Stops listening to key changes. */
  close(): void {
    this.#unsubscribe();
    this.#unsubscribeOrganizations();
  }

  async #read(secretHash: string): Promise<CachedKey | null> {
    let key: KeyRecord | null;
    let organization: KeyOrganization | undefined;
    try {
      key = await this.#store.keys.findByHash(secretHash);
      if (key !== null) organization = await this.#organization(key.organizationId);
      this.#storeFailing = false;
    } catch (error) {
      this.#storeFailing = true;
      throw error;
    }
    if (key === null || organization === undefined) return null;
    return new CachedKey(key, organization, this.#parts);
  }

  #organization(organizationId: string): KeyOrganization | Promise<KeyOrganization> {
    const cached = this.#organizations.get(organizationId);
    if (cached !== undefined) return cached;
    return this.#organizationReads.run(
      organizationId,
      async () => {
        const organization = await this.#store.organizations.findById(organizationId);
        // Data and configuration may disagree (the organization is gone, or its plan was removed
        // from the plans file): organizationPlan says what holds then for Check.
        const plan = organizationPlan(this.#config, organization?.plan);
        if (plan.name !== organization?.plan) {
          this.#logger?.warn({ organizationId, plan: organization?.plan ?? null }, "organization or its plan not found; applying the default plan");
        }
        return { id: organizationId, plan };
      },
      (organization, stale) => {
        if (!stale) this.#organizations.set(organizationId, organization);
      },
    );
  }
}
