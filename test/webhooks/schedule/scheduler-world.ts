import pino from "pino";
import { AuditTrail } from "../../../src/audit/audit-trail.js";
import { loadConfig } from "../../../src/config/config.js";
import { KeyEvents, type ChangedKey } from "../../../src/keys/key-events.js";
import { newId } from "../../../src/model/ids.js";
import { settingsOf } from "../../../src/model/organization-settings.js";
import { DEFAULT_PLANS, type Plan, type PlanCatalog } from "../../../src/model/plans.js";
import type { KeyRecord, Organization } from "../../../src/model/records.js";
import type { OrganizationSettings, WebhookEventType } from "../../../src/model/webhooks.js";
import { MemoryStore } from "../../../src/store/memory/memory-store.js";
import type { Store } from "../../../src/store/store.js";
import { ManualClock } from "../../../src/time/clock.js";
import { endpointNormalizer } from "../../../src/usage/endpoint.js";
import { UsageMetrics } from "../../../src/usage/usage-metrics.js";
import { UsageAggregator } from "../../../src/usage/usage-recorder.js";
import { CreditNotes } from "../../../src/webhooks/schedule/credit-notes.js";
import { RateLimitNotes } from "../../../src/webhooks/schedule/rate-limit-notes.js";
import type { OrganizationsDisablingUnusedKeys } from "../../../src/webhooks/schedule/unused-keys.js";
import { WebhookScheduler, type WebhookSchedulerDeps } from "../../../src/webhooks/schedule/webhook-scheduler.js";
import { aKey } from "../../support/records.js";
import { anEndpoint } from "../../store/contract/webhook-fixtures.js";

/**
 * One store (memory), one manual clock, and as many schedulers over them as a test wants: each
 * scheduler is a replica, with its own rate-limit and credit notes and usage recorder. Events are read back
 * as the store queued them: one delivery per event to the organization's one endpoint.
 */

export const DAY_MS = 86_400_000;

/** A plan with a small monthly quota, so thresholds are crossed with a few requests. */
export const SMALL_PLAN: Plan = { ...DEFAULT_PLANS[0]!, name: "small", monthlyQuota: 100 };
const PLANS: PlanCatalog = { plans: [SMALL_PLAN], defaultPlan: SMALL_PLAN.name };

export interface QueuedEvent {
  eventId: string;
  type: WebhookEventType;
  data: Record<string, unknown>;
}

export interface Replica {
  scheduler: WebhookScheduler;
  notes: RateLimitNotes;
  creditNotes: CreditNotes;
  recorder: UsageAggregator;
}

/** A new store and clock, or those given (a Check harness's). */
export function schedulerWorld(startMs: number, given: { store?: Store; clock?: ManualClock } = {}) {
  const store: Store = given.store ?? new MemoryStore();
  const clock = given.clock ?? new ManualClock(startMs);
  const logger = pino({ level: "silent" });
  const keyEvents = new KeyEvents((announce) => store.afterCommit(announce));
  const announced: Array<{ previously: ChangedKey; key: KeyRecord | null }> = [];
  keyEvents.onChange((previously, key) => announced.push({ previously, key }));
  const audit = new AuditTrail(store, clock);
  const organizationIds: string[] = [];
  const endpoints = new Map<string, string>();
  const replicas: Replica[] = [];

  /** What the store is to answer (OrganizationRepository.listDisablingUnusedKeys), over the organizations made here. */
  const organizations: OrganizationsDisablingUnusedKeys = {
    async listDisablingUnusedKeys({ afterId, limit }) {
      const found: Organization[] = [];
      for (const id of [...organizationIds].sort()) {
        if (afterId !== undefined && id <= afterId) continue;
        const organization = await store.organizations.findById(id);
        if (organization !== null && settingsOf(organization).disableUnusedKeysAfterDays > 0) found.push(organization);
        if (found.length === limit) break;
      }
      return found;
    },
  };

  /** An organization on the small plan, with these settings and one endpoint taking every event. */
  async function organization(settings: Partial<OrganizationSettings> = {}): Promise<string> {
    const id = newId("org", clock.now());
    await store.organizations.create({ id, name: "Acme", plan: SMALL_PLAN.name, createdAt: new Date(clock.now()), settings });
    await subscribe(id);
    return id;
  }

  /** Gives an existing organization the one endpoint whose deliveries `events` reads. */
  async function subscribe(organizationId: string): Promise<void> {
    organizationIds.push(organizationId);
    const endpoint = anEndpoint(organizationId);
    await store.webhooks.createEndpoint(endpoint, { maxPerOrganization: 20 });
    endpoints.set(organizationId, endpoint.id);
  }

  async function key(organizationId: string, fields: Partial<KeyRecord> = {}): Promise<KeyRecord> {
    const now = new Date(clock.now());
    const created = await store.keys.create(aKey(organizationId, { createdAt: now, updatedAt: now, ...fields }), { organizationMax: 1_000, userMax: 1_000 });
    if (!created.ok) throw new Error(created.reason);
    return created.key;
  }

  /** The events queued for the organization, oldest first. */
  async function events(organizationId: string, type?: WebhookEventType): Promise<QueuedEvent[]> {
    const deliveries = await store.webhooks.listDeliveries(organizationId, endpoints.get(organizationId)!, { limit: 1_000 });
    return deliveries
      .reverse()
      .map((delivery) => ({ eventId: delivery.eventId, type: delivery.eventType, data: (JSON.parse(delivery.payload) as { data: Record<string, unknown> }).data }))
      .filter((event) => type === undefined || event.type === type);
  }

  /** A replica's scheduler, started (so it hears its recorder's batches) with an interval no test waits for. */
  function replica(options: Partial<WebhookSchedulerDeps> = {}): Replica {
    const notes = new RateLimitNotes();
    const creditNotes = new CreditNotes();
    const recorder = new UsageAggregator({
      repository: store.usage,
      clock,
      logger,
      metrics: new UsageMetrics(),
      normalizeEndpoint: endpointNormalizer(loadConfig({}).usageIdSegmentPattern),
      flushIntervalMs: 3_600_000,
      batchSize: 500,
      maxBufferedEntries: 10_000,
      retentionDays: 400,
    });
    const scheduler = new WebhookScheduler({
      store,
      organizations,
      plans: PLANS,
      audit,
      keyEvents,
      rateLimitNotes: notes,
      creditNotes,
      usage: recorder,
      clock,
      logger,
      intervalMs: 3_600_000,
      ...options,
    });
    scheduler.start();
    const made = { scheduler, notes, creditNotes, recorder };
    replicas.push(made);
    return made;
  }

  /** Allowed Checks of the key, counted by the replica's recorder and written to the store. */
  async function use(on: Replica, key: KeyRecord, requests: number): Promise<void> {
    for (let i = 0; i < requests; i++) {
      on.recorder.record({ keyId: key.id, organizationId: key.organizationId, method: "GET", path: "/v1/things", outcome: "allowed", atMs: clock.now() });
    }
    await on.recorder.flush();
  }

  async function close(): Promise<void> {
    for (const { scheduler, recorder } of replicas) {
      await scheduler.stop();
      await recorder.close();
    }
  }

  return { store, clock, keyEvents, announced, organization, subscribe, key, events, replica, use, close };
}
