import { MongoClient, MongoServerError, type Collection, type Db, type Document, type IndexDescription, type MongoClientOptions } from "mongodb";
import type { Store } from "../store.js";
import type { CounterRepair } from "../counter-repair.js";
import { UnitOfWork } from "../unit-of-work.js";
import { inUnitSession } from "./session-collection.js";
import { transactional, type MongoUnit } from "./transactions.js";
import { checkReads } from "./check-reads.js";
import { MongoChangeLogRepository, type ChangeLogDocument } from "./change-log-repository.js";
import { MongoAuditRepository, type AuditEventDocument } from "./audit-repository.js";
import { MongoCounterRepair } from "./counter-repair.js";
import { MongoKeyRepository } from "./key-repository.js";
import { MongoIdentityRepository } from "./identity-repository.js";
import type { IdentityDocument } from "./identity-fields.js";
import type { KeyDocument } from "./key-document.js";
import { MongoDeletedKeyRepository, type DeletedKeyDocument } from "./deleted-key-repository.js";
import { inStoreTerms, withErrorsInStoreTerms } from "./mongo-errors.js";
import { KeySlotCounters, type SlotCounterDocument } from "./key-slots.js";
import { MongoBudgetLeases, type BudgetWindowDocument } from "./budget-leases.js";
import { MongoReplicaRegistry, type ReplicaDocument } from "./replica-registry.js";
import { MongoReceiptRepository, type ReceiptDocument } from "./receipt-repository.js";
import { MongoDebitedRequestRepository, type DebitedRequestDocument } from "./debited-request-repository.js";
import { MongoOrganizationRepository, type OrganizationDocument } from "./organization-repository.js";
import type { OwnerCountDocument } from "./owner-counts.js";
import { MongoUsageRepository, type UsageDayDocument } from "./usage-repository.js";
import { UsageKeyTotals, type UsageKeyTotalsDocument } from "./usage-key-totals.js";
import { MongoUserRepository, type UserDocument } from "./user-repository.js";
import { MongoWebhookRepository } from "./webhook-repository.js";
import type { WebhookDeliveryDocument, WebhookEndpointDocument, WebhookEventDocument } from "./webhook-documents.js";
import type { OrganizationCountDocument } from "./organization-counts.js";

/** Collection names: one repository each, plus the key slot counters the key repository keeps. */
const MONGODB_5_WIRE_VERSION = 13;

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
  budgetWindows: "budget_windows",
  replicas: "replicas",
  receipts: "idempotency_receipts",
  webhookEndpoints: "webhook_endpoints",
  webhookEvents: "webhook_events",
  webhookDeliveries: "webhook_deliveries",
  webhookEndpointCounts: "webhook_endpoint_counts",
  deletedKeys: "deleted_keys",
  identities: "identities",
  debitedRequests: "debited_requests",
  identityCounts: "identity_counts",
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
  readonly deletedKeys: MongoDeletedKeyRepository;
  readonly organizations: MongoOrganizationRepository;
  readonly users: MongoUserRepository;
  readonly audit: MongoAuditRepository;
  readonly usage: MongoUsageRepository;
  readonly changes: MongoChangeLogRepository;
  readonly budgets: MongoBudgetLeases;
  readonly replicas: MongoReplicaRegistry;
  readonly receipts: MongoReceiptRepository;
  readonly debitedRequests: MongoDebitedRequestRepository;
  readonly webhooks: MongoWebhookRepository;
  readonly identities: MongoIdentityRepository;

  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #units: UnitOfWork<MongoUnit>;
  readonly #counters: MongoCounterRepair;
  /** Whether the deployment has transactions (a replica set or a sharded cluster), known after init(). */
  #transactions = false;

  /**
   * The store uses `client` and closes it in close(). A unit of work keeps retrying through an
   * election for up to `writeWaitMs` (transactions.ts); Check's reads run for at most
   * `readTimeoutMs` on the server (check-reads.ts).
   */
  constructor(client: MongoClient, dbName: string, timeouts: StoreTimeouts = DEFAULT_TIMEOUTS) {
    this.#client = client;
    this.#db = client.db(dbName);
    this.#units = new UnitOfWork(transactional(client, () => this.#transactions, timeouts.writeWaitMs));
    // Each repository behind the boundary that turns an unreachable server into the store's
    // StoreUnavailableError (mongo-errors.ts).
    // The change log is written by the repositories whose writes other replicas follow, in the
    // same unit of work as each write.
    const changes = new MongoChangeLogRepository(this.#collection<ChangeLogDocument>(COLLECTIONS.keyChanges), this.#db, timeouts.readTimeoutMs);
    const inTransaction = () => this.#units.context()?.session !== undefined;
    const reads = checkReads(timeouts.readTimeoutMs);
    // Written by the key repository's delete, in its unit of work.
    const deletedKeys = new MongoDeletedKeyRepository(this.#collection<DeletedKeyDocument>(COLLECTIONS.deletedKeys));
    this.deletedKeys = withErrorsInStoreTerms(deletedKeys);
    this.keys = withErrorsInStoreTerms(
      new MongoKeyRepository(
        this.#collection<KeyDocument>(COLLECTIONS.keys),
        new KeySlotCounters(this.#collection<SlotCounterDocument>(COLLECTIONS.keySlots), inTransaction),
        changes,
        this.#units,
        reads,
        deletedKeys,
      ),
    );
    this.organizations = withErrorsInStoreTerms(
      new MongoOrganizationRepository(this.#collection<OrganizationDocument>(COLLECTIONS.organizations), changes, this.#units, reads),
    );
    this.users = withErrorsInStoreTerms(
      new MongoUserRepository(
        this.#collection<UserDocument>(COLLECTIONS.users),
        this.#collection<OwnerCountDocument>(COLLECTIONS.ownerCounts),
        this.#units,
      ),
    );
    this.audit = withErrorsInStoreTerms(new MongoAuditRepository(this.#collection<AuditEventDocument>(COLLECTIONS.audit)));
    this.usage = withErrorsInStoreTerms(
      new MongoUsageRepository(
        this.#collection<UsageDayDocument>(COLLECTIONS.usageDays),
        new UsageKeyTotals(this.#collection<UsageKeyTotalsDocument>(COLLECTIONS.usageKeyTotals)),
      ),
    );
    this.changes = withErrorsInStoreTerms(changes);
    this.budgets = withErrorsInStoreTerms(new MongoBudgetLeases(this.#collection<BudgetWindowDocument>(COLLECTIONS.budgetWindows), reads.maxTimeMS));
    this.replicas = withErrorsInStoreTerms(new MongoReplicaRegistry(this.#collection<ReplicaDocument>(COLLECTIONS.replicas)));
    this.receipts = withErrorsInStoreTerms(new MongoReceiptRepository(this.#collection<ReceiptDocument>(COLLECTIONS.receipts), inTransaction));
    this.debitedRequests = withErrorsInStoreTerms(
      new MongoDebitedRequestRepository(this.#collection<DebitedRequestDocument>(COLLECTIONS.debitedRequests), inTransaction),
    );
    this.webhooks = withErrorsInStoreTerms(
      new MongoWebhookRepository(
        {
          endpoints: this.#collection<WebhookEndpointDocument>(COLLECTIONS.webhookEndpoints),
          events: this.#collection<WebhookEventDocument>(COLLECTIONS.webhookEvents),
          deliveries: this.#collection<WebhookDeliveryDocument>(COLLECTIONS.webhookDeliveries),
          endpointCounts: this.#collection<OrganizationCountDocument>(COLLECTIONS.webhookEndpointCounts),
        },
        this.#units,
      ),
    );
    this.identities = withErrorsInStoreTerms(
      new MongoIdentityRepository(
        this.#collection<IdentityDocument>(COLLECTIONS.identities),
        this.#collection<OrganizationCountDocument>(COLLECTIONS.identityCounts),
        this.#collection<KeyDocument>(COLLECTIONS.keys),
        changes,
        this.#units,
      ),
    );
    this.#counters = withErrorsInStoreTerms(
      new MongoCounterRepair(
        {
          keys: this.#collection(COLLECTIONS.keys),
          keySlots: this.#collection(COLLECTIONS.keySlots),
          users: this.#collection(COLLECTIONS.users),
          ownerCounts: this.#collection(COLLECTIONS.ownerCounts),
        },
        (work) => this.#units.atomically(work),
        inTransaction,
      ),
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
    const hello = (await this.#db.command({ hello: 1 })) as { setName?: string; msg?: string; maxWireVersion?: number };
    // Limit leases are pipeline updates with operators from MongoDB 5.0 (wire version 13); on an
    // older server every lease would fail and limits would run on the outage allowance for good.
    if ((hello.maxWireVersion ?? 0) < MONGODB_5_WIRE_VERSION) {
      throw new Error(`keygate needs MongoDB 5.0 or later (this server speaks wire version ${hello.maxWireVersion ?? "unknown"})`);
    }
    this.#transactions = hello.setName !== undefined || hello.msg === "isdbgrid";
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
      [COLLECTIONS.deletedKeys, MongoDeletedKeyRepository.indexes],
      [COLLECTIONS.organizations, MongoOrganizationRepository.indexes],
      [COLLECTIONS.users, MongoUserRepository.indexes],
      [COLLECTIONS.audit, MongoAuditRepository.indexes],
      [COLLECTIONS.usageDays, MongoUsageRepository.indexes],
      [COLLECTIONS.keyChanges, MongoChangeLogRepository.indexes],
      [COLLECTIONS.budgetWindows, MongoBudgetLeases.indexes],
      [COLLECTIONS.replicas, MongoReplicaRegistry.indexes],
      [COLLECTIONS.receipts, MongoReceiptRepository.indexes],
      [COLLECTIONS.webhookEndpoints, MongoWebhookRepository.endpointIndexes],
      [COLLECTIONS.webhookEvents, MongoWebhookRepository.eventIndexes],
      [COLLECTIONS.webhookDeliveries, MongoWebhookRepository.deliveryIndexes],
      [COLLECTIONS.identities, MongoIdentityRepository.indexes],
      [COLLECTIONS.debitedRequests, MongoDebitedRequestRepository.indexes],
    ];
    await Promise.all(
      indexes
        .filter(([, specs]) => specs.length > 0)
        .map(([collection, specs]) => this.#db.collection(collection).createIndexes(specs)),
    );
  }

  atomically<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#units.atomically(work, signal).catch((error: unknown) => Promise.reject(inStoreTerms(error)));
  }

  afterCommit(effect: () => void): void {
    this.#units.afterCommit(effect);
  }

  repairCounters(): Promise<CounterRepair> {
    return this.#counters.run();
  }

  /** A collection whose operations join the unit of work running when they are made. */
  #collection<T extends Document>(name: string): Collection<T> {
    return inUnitSession(this.#db.collection<T>(name), () => this.#units.context());
  }

  /**
   * Any member that can serve reads answers (primaryPreferred, as Check's reads), so a replica
   * stays ready through an election while a secondary is up; `signal` aborts server selection,
   * or closes the connection of a ping a frozen server never answers, so none is left waiting.
   */
  async ping(signal?: AbortSignal): Promise<void> {
    try {
      await this.#db.command({ ping: 1 }, { readPreference: "primaryPreferred", ...(signal && { signal }) });
    } catch (error) {
      throw inStoreTerms(error);
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

export interface StoreTimeouts {
  /**
   * How long a write waits for a primary and retries its transaction (KEYGATE_STORE_WRITE_WAIT_MS):
   * longer than an election (10–12 s after a primary dies), so admin writes ride through one.
   */
  writeWaitMs: number;
  /** How long a Check's read may run (KEYGATE_STORE_READ_TIMEOUT_MS). */
  readTimeoutMs: number;
}

export const DEFAULT_TIMEOUTS: StoreTimeouts = { writeWaitMs: 15_000, readTimeoutMs: 3_000 };

/**
 * A store on its own client for `uri`; call init() before serving. The client waits for a
 * server as long as a write may wait (serverSelectionTimeoutMS), and gives up on a connection
 * that stops answering after as long (socketTimeoutMS): a frozen or vanished primary fails the
 * operations in flight on it, instead of holding them until the OS notices.
 */
export function createMongoStore(
  uri: string,
  dbName: string,
  options: Partial<StoreTimeouts> & { client?: MongoClientOptions } = {},
): MongoStore {
  const { client, ...given } = options;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...given };
  const clientOptions = { serverSelectionTimeoutMS: timeouts.writeWaitMs, socketTimeoutMS: timeouts.writeWaitMs, ...client };
  return new MongoStore(new MongoClient(uri, clientOptions), dbName, timeouts);
}
