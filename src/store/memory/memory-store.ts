import type { CounterRepair } from "../counter-repair.js";
import type { Store } from "../store.js";
import { UnitOfWork } from "../unit-of-work.js";
import { oneAtATime, type MemoryUnit } from "./one-at-a-time.js";
import { MemoryAuditRepository } from "./audit-repository.js";
import { MemoryIdentityRepository } from "./identity-repository.js";
import { MemoryBudgetLeases } from "./budget-leases.js";
import { MemoryChangeLogRepository } from "./change-log-repository.js";
import { MemoryDebitedRequestRepository } from "./debited-request-repository.js";
import { MemoryDeletedKeyRepository } from "./deleted-key-repository.js";
import { MemoryKeyRepository } from "./key-repository.js";
import { MemoryOrganizationRepository } from "./organization-repository.js";
import { MemoryReceiptRepository } from "./receipt-repository.js";
import { MemoryReplicaRegistry } from "./replica-registry.js";
import { MemoryUsageRepository } from "./usage-repository.js";
import { MemoryUserRepository } from "./user-repository.js";
import { MemoryWebhookRepository } from "./webhook-repository.js";

/**
 * The embedded default store: everything in process memory, nothing persisted. Each method runs
 * to completion without awaiting, so on Node's single thread every method is atomic.
 */
export class MemoryStore implements Store {
  // First: the webhook outbox holds what a unit queues until the unit commits.
  readonly #units = new UnitOfWork<MemoryUnit>(oneAtATime());
  readonly kind = "memory" as const;
  readonly sharedAcrossProcesses = false;
  readonly persistent = false;
  readonly deletedKeys = new MemoryDeletedKeyRepository();
  readonly keys = new MemoryKeyRepository(this.deletedKeys);
  readonly organizations = new MemoryOrganizationRepository();
  readonly users = new MemoryUserRepository();
  readonly audit = new MemoryAuditRepository();
  readonly usage = new MemoryUsageRepository();
  readonly changes = new MemoryChangeLogRepository();
  readonly budgets = new MemoryBudgetLeases();
  readonly replicas = new MemoryReplicaRegistry();
  readonly receipts = new MemoryReceiptRepository();
  readonly webhooks = new MemoryWebhookRepository(this.#units);
  readonly identities = new MemoryIdentityRepository((organizationId, identityId) => this.keys.tiedTo(organizationId, identityId));
  readonly debitedRequests = new MemoryDebitedRequestRepository();

  atomically<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#units.atomically(work, signal);
  }

  afterCommit(effect: () => void): void {
    this.#units.afterCommit(effect);
  }

  async init(): Promise<void> {}

  /** Nothing to repair: its slot counts change in the same synchronous step as the keys, and it counts no owners. */
  async repairCounters(): Promise<CounterRepair> {
    return { checked: 0, corrections: [] };
  }

  async ping(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
  }

  async close(): Promise<void> {}
}
