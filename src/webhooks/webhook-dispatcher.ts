import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { SigningSecretSealing } from "../crypto/signing-secret-sealing.js";
import type { Logger } from "../log/logger.js";
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from "../model/webhooks.js";
import type { Store, WebhookAttemptOutcome } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { every } from "../time/every.js";
import { retryDelayMs } from "./retry-schedule.js";
import type { DeliveryOutcome, WebhookDeliveryObserver } from "./webhook-metrics.js";
import type { SendOutcome } from "./webhook-sender.js";
import { signDelivery, signingSecrets } from "./webhook-signature.js";

/**
 * Each replica's webhook dispatcher: it claims due deliveries from the store's outbox, signs and
 * sends each, and records what came of it. The claim is a lease (store.webhooks.claimDue), so one
 * replica at a time holds a delivery, and a replica that dies mid-delivery leaves it to another
 * once the lease lapses; the lease outlasts the send's 10 s deadline several times over, so a
 * live holder always records its attempt before another may take it.
 *
 * A pass runs every second, and at once when nudged (after an enqueue, or a send finished and
 * freed a slot); one pass runs at a time. Deliveries are claimed one at a time, oldest due first
 * across tenants, skipping the endpoints this replica already sends MAX_PER_ENDPOINT to and the
 * organizations it already sends MAX_PER_ORGANIZATION to. So a slow or failing receiver holds at
 * most 4 of this replica's MAX_IN_FLIGHT slots, and one organization's receivers (however many
 * endpoints, however old its backlog) at most 8: the other 24 stay free for other organizations,
 * whose deliveries are claimed past its backlog in the same pass.
 *
 * An endpoint whose deliveries have all failed for 5 days is disabled, with an audit event by
 * keygate itself; a delivery that succeeds ends its failing streak. Secrets are opened only to
 * sign and never logged or stored: a delivery's lastError is the receiver's answer excerpt or the
 * network error.
 */

export interface WebhookSenderPort {
  send(url: string, headers: Readonly<Record<string, string>>, body: string): Promise<SendOutcome>;
}

export interface WebhookDispatcherDeps {
  store: Store;
  sealing: SigningSecretSealing;
  sender: WebhookSenderPort;
  audit: AuditTrail;
  clock: Clock;
  logger: Logger;
  metrics?: WebhookDeliveryObserver;
  /** Names this replica's claims; unique per process by default. */
  holder?: string;
  intervalMs?: number;
  /** For the retry schedule's jitter; Math.random by default. */
  random?: () => number;
}

const INTERVAL_MS = 1000;
const LEASE_MS = 60_000;
const MAX_PER_ENDPOINT = 4;
const MAX_PER_ORGANIZATION = 8;
const MAX_IN_FLIGHT = 32;
const DISABLE_AFTER_MS = 5 * 24 * 60 * 60 * 1000;
/** Who audit entries name for what keygate does on its own. */
const KEYGATE_ACTOR = { actorKeyId: "keygate", actorUserId: "" } as const;

export class WebhookDispatcher {
  readonly holder: string;
  readonly #deps: WebhookDispatcherDeps;
  readonly #intervalMs: number;
  readonly #inFlight = new Set<Promise<void>>();
  /** Sends under way per endpoint, and per organization. */
  readonly #perEndpoint = new Map<string, number>();
  readonly #perOrganization = new Map<string, number>();
  #pass: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #stopTimer: (() => void) | undefined;

  constructor(deps: WebhookDispatcherDeps) {
    this.#deps = deps;
    this.holder = deps.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
    this.#intervalMs = deps.intervalMs ?? INTERVAL_MS;
  }

  start(): void {
    if (this.#stopped || this.#stopTimer) return;
    this.#stopTimer = every(this.#intervalMs, () => this.#runPass(), {
      logger: this.#deps.logger,
      failing: "webhook dispatcher cannot claim deliveries from the store; it keeps trying",
      recovered: "webhook dispatcher claims deliveries again",
    });
  }

  /** Runs a pass now (or right after the one running). Never rejects: the periodic pass reports a failing store. */
  nudge(): void {
    this.#runPass().catch(() => undefined);
  }

  /** Resolves once no pass runs and nothing is being sent. */
  async idle(): Promise<void> {
    while (this.#pass || this.#inFlight.size > 0) await Promise.allSettled([this.#pass, ...this.#inFlight]);
  }

  /** Claims nothing more and waits for the sends under way to be recorded. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopTimer?.();
    await this.idle();
  }

  #runPass(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#pass) {
      this.#again = true;
      return this.#pass;
    }
    this.#pass = (async () => {
      try {
        do {
          this.#again = false;
          await this.#claimAndSend();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#pass = undefined;
      }
    })();
    return this.#pass;
  }

  async #claimAndSend(): Promise<void> {
    while (!this.#stopped && this.#inFlight.size < MAX_IN_FLIGHT) {
      const [busyEndpoints, busyOrganizations] = [atLeast(this.#perEndpoint, MAX_PER_ENDPOINT), atLeast(this.#perOrganization, MAX_PER_ORGANIZATION)];
      const now = this.#deps.clock.now();
      const [delivery] = await this.#deps.store.webhooks.claimDue(this.holder, new Date(now), new Date(now + LEASE_MS), 1, busyEndpoints, busyOrganizations);
      if (!delivery) return;
      this.#track(delivery);
    }
  }

  #track(delivery: WebhookDeliveryRecord): void {
    const { endpointId, organizationId } = delivery;
    count(this.#perEndpoint, endpointId, +1);
    count(this.#perOrganization, organizationId, +1);
    const send: Promise<void> = this.#deliver(delivery)
      .catch((error: unknown) => {
        // The store failed: the claim lapses and the delivery is tried again then.
        this.#deps.logger.warn({ err: error, deliveryId: delivery.id, endpointId }, "webhook delivery attempt could not be recorded; it is retried once its claim lapses");
      })
      .finally(() => {
        this.#inFlight.delete(send);
        count(this.#perEndpoint, endpointId, -1);
        count(this.#perOrganization, organizationId, -1);
        this.nudge();
      });
    this.#inFlight.add(send);
  }

  async #deliver(delivery: WebhookDeliveryRecord): Promise<void> {
    const { store, clock } = this.#deps;
    const endpoint = await store.webhooks.findEndpoint(delivery.organizationId, delivery.endpointId);
    if (!endpoint || !endpoint.enabled) {
      const lastError = endpoint ? "endpoint disabled" : "endpoint deleted";
      await this.#record(delivery, { status: "failed", responseCode: 0, lastError, nextAttemptAt: new Date(clock.now()) });
      return;
    }
    const sent = await this.#send(delivery, endpoint);
    const attemptsMade = delivery.attempt + 1;
    const after = clock.now();
    const delay = sent.ok ? null : retryDelayMs(attemptsMade, this.#deps.random);
    await this.#record(delivery, {
      status: sent.ok ? "delivered" : delay === null ? "failed" : "pending",
      responseCode: sent.responseCode,
      lastError: sent.error,
      nextAttemptAt: new Date(after + (delay ?? 0)),
    });
    if (sent.ok) {
      if (endpoint.failingSince !== null) await store.webhooks.updateEndpoint(endpoint.organizationId, endpoint.id, { failingSince: null }, new Date(after));
    } else {
      await this.#weighFailure(endpoint.organizationId, endpoint.id, new Date(after));
    }
  }

  /** Signs with the endpoint's secret(s) and sends; a secret that does not open is a failed attempt, never an unsigned send. */
  async #send(delivery: WebhookDeliveryRecord, endpoint: WebhookEndpointRecord): Promise<SendOutcome> {
    const now = new Date(this.#deps.clock.now());
    let secrets: string[];
    try {
      secrets = signingSecrets(endpoint, this.#deps.sealing, now);
    } catch (error) {
      this.#deps.logger.error({ err: error, endpointId: endpoint.id }, "webhook signing secret cannot be opened (was KEYGATE_PEPPER changed?); the delivery is not sent");
      return { ok: false, responseCode: 0, error: "the signing secret cannot be opened on this server" };
    }
    return this.#deps.sender.send(endpoint.url, signDelivery(delivery.eventId, delivery.payload, now, secrets), delivery.payload);
  }

  async #record(delivery: WebhookDeliveryRecord, outcome: WebhookAttemptOutcome): Promise<void> {
    const recorded = await this.#deps.store.webhooks.recordAttempt(delivery.id, this.holder, outcome);
    const context = { deliveryId: delivery.id, endpointId: delivery.endpointId, organizationId: delivery.organizationId, eventType: delivery.eventType, attempt: delivery.attempt + 1 };
    if (!recorded) {
      this.#deps.logger.warn(context, "webhook delivery's claim lapsed before its attempt was recorded; another replica delivers it");
      return;
    }
    const result: DeliveryOutcome = outcome.status === "delivered" ? "delivered" : outcome.status === "failed" ? "failed" : "retrying";
    this.#deps.metrics?.attempted(result);
    const details = { ...context, responseCode: outcome.responseCode, error: outcome.lastError };
    if (result === "failed") this.#deps.logger.warn(details, "webhook delivery failed for good");
    else if (result === "retrying") this.#deps.logger.info({ ...details, nextAttemptAt: outcome.nextAttemptAt }, "webhook delivery failed; it is tried again later");
    else this.#deps.logger.debug(context, "webhook delivered");
  }

  /**
   * An attempt to the endpoint failed: its failing streak starts now, or, when it has lasted 5
   * days, the endpoint is disabled. Read afresh, so a success recorded meanwhile (by another send
   * or replica) is seen. Several sends, of this replica or others, may weigh a failure at once and
   * all find the streak 5 days old: the store disables the endpoint only while it is still enabled
   * and failing since that same time, so one of them disables it, and only that one audits it.
   */
  async #weighFailure(organizationId: string, endpointId: string, now: Date): Promise<void> {
    const { store, audit, logger } = this.#deps;
    const endpoint = await store.webhooks.findEndpoint(organizationId, endpointId);
    if (!endpoint?.enabled) return;
    if (endpoint.failingSince === null) {
      await store.webhooks.updateEndpoint(organizationId, endpointId, { failingSince: now }, now);
      return;
    }
    if (now.getTime() - endpoint.failingSince.getTime() < DISABLE_AFTER_MS) return;
    const disabledReason = `every delivery failed since ${endpoint.failingSince.toISOString()} (5 days)`;
    if (!(await store.webhooks.disableFailing(organizationId, endpointId, endpoint.failingSince, disabledReason, now))) return;
    await audit.record({
      ...KEYGATE_ACTOR,
      organizationId,
      action: "webhook.update",
      keyId: "",
      // As UpdateWebhookEndpoint's entries say it, with why; the URL's origin only, never its path or query.
      details: { endpointId, target: new URL(endpoint.url).origin, fields: "enabled", enabled: "false", reason: disabledReason },
    });
    logger.warn({ organizationId, endpointId, failingSince: endpoint.failingSince }, "webhook endpoint disabled: its deliveries failed for 5 days");
  }
}

/** Adds `by` to the count of `id`; a count that comes to 0 is dropped. */
function count(counts: Map<string, number>, id: string, by: 1 | -1): void {
  const now = (counts.get(id) ?? 0) + by;
  if (now === 0) counts.delete(id);
  else counts.set(id, now);
}

/** The ids whose count is at `bound` or above. */
const atLeast = (counts: ReadonlyMap<string, number>, bound: number): string[] => [...counts].filter(([, n]) => n >= bound).map(([id]) => id);
