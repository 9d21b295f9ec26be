import type { Registry } from "prom-client";
import type { AuditTrail } from "../audit/audit-trail.js";
import { SigningSecretSealing } from "../crypto/signing-secret-sealing.js";
import type { KeyEvents } from "../keys/key-events.js";
import type { Logger } from "../log/logger.js";
import type { PlanCatalog } from "../model/plans.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import type { FlushListener } from "../usage/usage-recorder.js";
import { CreditNotes } from "./schedule/credit-notes.js";
import { RateLimitNotes } from "./schedule/rate-limit-notes.js";
import { WebhookScheduler } from "./schedule/webhook-scheduler.js";
import { WebhookDispatcher } from "./webhook-dispatcher.js";
import { webhookMetrics } from "./webhook-metrics.js";
import { WebhookSender } from "./webhook-sender.js";

export interface WebhooksDeps {
  store: Store;
  /** KEYGATE_PEPPER (signing secrets are sealed under a key derived from it) and KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS. */
  pepper: string;
  allowInsecureTargets: boolean;
  /** Between the scheduler's passes (KEYGATE_WEBHOOK_SCHEDULE_INTERVAL_MS). */
  scheduleIntervalMs: number;
  plans: PlanCatalog;
  audit: AuditTrail;
  keyEvents: KeyEvents;
  /** This replica's usage recorder: its batches say whose quota use grew. */
  usage: { onFlushed(listener: FlushListener): () => void };
  registry: Registry;
  clock: Clock;
  logger: Logger;
}

/**
 * One replica's webhooks: what the admin RPCs need (the sealing of signing secrets, whether
 * insecure targets are allowed), what Check notes rate-limited keys and credit balances in, and the two loops that run
 * beside the server, the dispatcher that delivers the outbox and the scheduler that makes the
 * events no call makes. Every replica runs both: claims with a lease and derived event ids make
 * that safe (webhook-dispatcher.ts, schedule/webhook-scheduler.ts).
 */
export class Webhooks {
  readonly sealing: SigningSecretSealing;
  readonly allowInsecureTargets: boolean;
  /** Given to Check (AuthorizationDeps.rateLimits): rate-limited keys, for `rate_limit.exceeded`. */
  readonly rateLimitNotes = new RateLimitNotes();
  /** Given to Check (AuthorizationDeps.credits): the credit balances it saw, for `key.credits_low`. */
  readonly creditNotes = new CreditNotes();
  readonly #dispatcher: WebhookDispatcher;
  readonly #scheduler: WebhookScheduler;
  readonly #logger: Logger;

  constructor(deps: WebhooksDeps) {
    const { store, audit, clock, logger } = deps;
    this.#logger = logger;
    this.sealing = new SigningSecretSealing(deps.pepper);
    this.allowInsecureTargets = deps.allowInsecureTargets;
    this.#dispatcher = new WebhookDispatcher({
      store,
      sealing: this.sealing,
      sender: new WebhookSender({ allowInsecure: deps.allowInsecureTargets }),
      audit,
      clock,
      logger,
      metrics: webhookMetrics(deps.registry, store.webhooks, clock),
    });
    this.#scheduler = new WebhookScheduler({
      store,
      organizations: store.organizations,
      plans: deps.plans,
      audit,
      keyEvents: deps.keyEvents,
      rateLimitNotes: this.rateLimitNotes,
      creditNotes: this.creditNotes,
      usage: deps.usage,
      clock,
      logger,
      intervalMs: deps.scheduleIntervalMs,
    });
  }

  start(): void {
    if (this.allowInsecureTargets) {
      this.#logger.warn(
        "KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS=true: webhook endpoints may be http:// and on loopback or private addresses, so a tenant's endpoint can reach this network; development and tests only",
      );
    }
    this.#dispatcher.start();
    this.#scheduler.start();
  }

  /** Stops both loops; resolves once the sends under way are recorded and the pass running has ended. */
  async close(): Promise<void> {
    await Promise.all([this.#dispatcher.stop(), this.#scheduler.stop()]);
  }
}
