import { MongoClient, MongoServerError, type Db, type IndexDescription, type MongoClientOptions } from "mongodb";
import type { Store } from "../store.js";
import { MongoChangeLogRepository, type ChangeLogDocument } from "./change-log-repository.js";
import { MongoAuditRepository, type AuditEventDocument } from "./audit-repository.js";
import { MongoKeyRepository } from "./key-repository.js";
import type { KeyDocument } from "./key-document.js";
import { inStoreTerms, withErrorsInStoreTerms } from "./mongo-errors.js";
import { KeySlotCounters, type SlotCounterDocument } from "./key-slots.js";
import { MongoRateLimitCounters, type RateLimitSlotDocument } from "./rate-limit-counters.js";
import { MongoOrganizationRepository, type OrganizationDocument } from "./organization-repository.js";
import type { OwnerCountDocument } from "./owner-counts.js";
import { MongoUsageRepository, type UsageDayDocument } from "./usage-repository.js";
import { UsageKeyTotals, type UsageKeyTotalsDocument } from "./usage-key-totals.js";
import { MongoUserRepository, type UserDocument } from "./user-repository.js";

/** Collection names: one repository each, plus the key slot counters the key repository keeps. */
export const COLLECTIONS = {
  keys: "keys",
  keySlots: "key_slots",
  organizations: "organizations",
  users: "users",
  audit: "audit_events",
  ownerCounts: "owner_counts",
  usageDays: "usage_daily",
  usageKeyTotals: "usage_key_totals",
  keyChanges: "key_changes",
  rateLimitSlots: "rate_limit_slots",
} as const;

const NAMESPACE_EXISTS = 48;

/**
 * keygate on MongoDB through the official driver. Works on a standalone mongod: every invariant is
 * kept by single-document atomic writes (see key-slots.ts), so no transaction is needed.
 */
export class MongoStore implements Store {
  readonly kind = "mongodb" as const;
  readonly sharedAcrossProcesses = true;
  readonly persistent = true;
  readonly keys: MongoKeyRepository;
  readonly organizations: MongoOrganizationRepository;
  readonly users: MongoUserRepository;
  readonly audit: MongoAuditRepository;
  readonly usage: MongoUsageRepository;
  readonly changes: MongoChangeLogRepository;
  readonly rateLimitCounters: MongoRateLimitCounters;

  readonly #client: MongoClient;
  readonly #db: Db;

  /** The store uses `client` and closes it in close(). */
  constructor(client: MongoClient, dbName: string) {
    this.#client = client;
    this.#db = client.db(dbName);
    // Each repository behind the boundary that turns an unreachable server into the store's
    // StoreUnavailableError (mongo-errors.ts).
    this.keys = withErrorsInStoreTerms(
      new MongoKeyRepository(
        this.#db.collection<KeyDocument>(COLLECTIONS.keys),
        new KeySlotCounters(this.#db.collection<SlotCounterDocument>(COLLECTIONS.keySlots)),
      ),
    );
    this.organizations = withErrorsInStoreTerms(
      new MongoOrganizationRepository(this.#db.collection<OrganizationDocument>(COLLECTIONS.organizations)),
    );
    this.users = withErrorsInStoreTerms(
      new MongoUserRepository(
        this.#db.collection<UserDocument>(COLLECTIONS.users),
        this.#db.collection<OwnerCountDocument>(COLLECTIONS.ownerCounts),
      ),
    );
    this.audit = withErrorsInStoreTerms(new MongoAuditRepository(this.#db.collection<AuditEventDocument>(COLLECTIONS.audit)));
    this.usage = withErrorsInStoreTerms(
      new MongoUsageRepository(
        this.#db.collection<UsageDayDocument>(COLLECTIONS.usageDays),
        new UsageKeyTotals(this.#db.collection<UsageKeyTotalsDocument>(COLLECTIONS.usageKeyTotals)),
      ),
    );
    this.changes = withErrorsInStoreTerms(
      new MongoChangeLogRepository(this.#db.collection<ChangeLogDocument>(COLLECTIONS.keyChanges), this.#db),
    );
    this.rateLimitCounters = withErrorsInStoreTerms(
      new MongoRateLimitCounters(this.#db.collection<RateLimitSlotDocument>(COLLECTIONS.rateLimitSlots)),
    );
  }

  /**
   * Connects, creates every collection and every index the queries need, awaiting each; throws
   * when any fails. Collections are created here rather than by the first writes, because
   * concurrent first writes race to create the collection (a conflict mongod retries internally,
   * and which crashes the Windows mongod the tests run under Wine).
   */
  async init(): Promise<void> {
    await this.#client.connect();
    const existing = await this.#db.listCollections({}, { nameOnly: true }).toArray();
    const missing = Object.values(COLLECTIONS).filter((name) => !existing.some((collection) => collection.name === name));
    for (const name of missing) {
      try {
        await this.#db.createCollection(name);
      } catch (error) {
        // Another process initialising the same database created it first.
        if (!(error instanceof MongoServerError && error.code === NAMESPACE_EXISTS)) throw error;
      }
    }
    const indexes: [string, IndexDescription[]][] = [
      [COLLECTIONS.keys, MongoKeyRepository.indexes],
      [COLLECTIONS.organizations, MongoOrganizationRepository.indexes],
      [COLLECTIONS.users, MongoUserRepository.indexes],
      [COLLECTIONS.audit, MongoAuditRepository.indexes],
      [COLLECTIONS.usageDays, MongoUsageRepository.indexes],
      [COLLECTIONS.keyChanges, MongoChangeLogRepository.indexes],
      [COLLECTIONS.rateLimitSlots, MongoRateLimitCounters.indexes],
    ];
    await Promise.all(
      indexes
        .filter(([, specs]) => specs.length > 0)
        .map(([collection, specs]) => this.#db.collection(collection).createIndexes(specs)),
    );
  }

  async ping(): Promise<void> {
    try {
      await this.#db.command({ ping: 1 });
    } catch (error) {
      throw inStoreTerms(error);
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/**
 * How long an operation waits for a reachable server before it fails (the driver's default is
 * 30 s): short, so that admin RPCs answer `unavailable` quickly during an outage, and Check falls
 * back to its cache at once.
 */
export const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 2_000;

/** A store on its own client for `uri`; call init() before serving. */
export function createMongoStore(uri: string, dbName: string, options?: MongoClientOptions): MongoStore {
  return new MongoStore(new MongoClient(uri, { serverSelectionTimeoutMS: DEFAULT_SERVER_SELECTION_TIMEOUT_MS, ...options }), dbName);
}
