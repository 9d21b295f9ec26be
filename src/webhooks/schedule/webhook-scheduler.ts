import type { AuditTrail } from "../../audit/audit-trail.js";
import type { KeyEvents } from "../../keys/key-events.js";
import type { Logger } from "../../log/logger.js";
import type { PlanCatalog } from "../../model/plans.js";
import type { Store } from "../../store/store.js";
import type { Clock } from "../../time/clock.js";
import { every } from "../../time/every.js";
import type { FlushListener } from "../../usage/usage-recorder.js";
import { CreditLowEvents } from "./credit-low-events.js";
import type { CreditNotes } from "./credit-notes.js";
import { ExpiryNotices } from "./expiry-notices.js";
import { ExpiryWarnings } from "./expiry-warnings.js";
import { OnceEvents } from "./once-events.js";
import { OrganizationsOfPass } from "./organizations-of-pass.js";
import { QuotaThresholds } from "./quota-thresholds.js";
import { RateLimitEvents } from "./rate-limit-events.js";
import type { RateLimitNotes } from "./rate-limit-notes.js";
import { UnusedKeys, type OrganizationsDisablingUnusedKeys } from "./unused-keys.js";

/**
 * The events no admin call causes: `key.expiring`, `key.expired`, `quota.threshold`,
 * `rate_limit.exceeded`, `key.credits_low`, and the unused keys an organization asked to have disabled (with their
 * `key.updated`). Every replica runs one; they need no coordination, because each event that
 * must happen once has an id derived from what it is about (the store queues an id once), and
 * each key disabled is written on condition that it is still as read. One pass at a time, every
 * `intervalMs`; the walks that read many keys, the unused-keys sweep (every old key of the
 * organizations that use it) and the full expiry-warning walk (every key expiring within a year),
 * at most every `sweepIntervalMs`.
 */

export interface WebhookSchedulerDeps {
  store: Pick<Store, "keys" | "organizations" | "usage" | "webhooks" | "atomically">;
  /** Organizations that disable unused keys (the store's OrganizationRepository, once it lists them). */
  organizations: OrganizationsDisablingUnusedKeys;
  plans: PlanCatalog;
  audit: AuditTrail;
  keyEvents: KeyEvents;
  /** What Check noted about rate-limited keys (the same object AuthorizationDeps.rateLimits is given). */
  rateLimitNotes: RateLimitNotes;
  /** What Check noted about credit balances (the same object AuthorizationDeps.credits is given). */
  creditNotes: CreditNotes;
  /** This replica's usage recorder (UsageAggregator): its batches say whose quota use grew. */
  usage: { onFlushed(listener: FlushListener): () => void };
  clock: Clock;
  logger: Pick<Logger, "warn" | "info">;
  /** Between passes; default 60 s. */
  intervalMs?: number;
  /** Between sweeps for unused keys, and full walks for expiry warnings; default 1 hour. */
  sweepIntervalMs?: number;
  /** Records per store read; default 500. */
  pageSize?: number;
  /** How far each `key.expired` (and `key.expiring`) pass reaches back into the previous one's span; default 5 minutes. */
  overlapMs?: number;
  /** How far back the first `key.expired` pass of a process looks; default 7 days. */
  catchUpMs?: number;
}

const DEFAULTS = { intervalMs: 60_000, sweepIntervalMs: 3_600_000, pageSize: 500, overlapMs: 300_000, catchUpMs: 7 * 86_400_000 };

export class WebhookScheduler {
  readonly #deps: WebhookSchedulerDeps;
  readonly #intervalMs: number;
  readonly #sweepIntervalMs: number;
  readonly #rateLimits: RateLimitEvents;
  readonly #creditsLow: CreditLowEvents;
  readonly #quota: QuotaThresholds;
  readonly #expired: ExpiryNotices;
  readonly #expiring: ExpiryWarnings;
  readonly #unused: UnusedKeys;
  #lastSweepMs: number | undefined;
  /** The pass running or last run: a new one starts after it. */
  #pass: Promise<void> = Promise.resolve();
  #stop: (() => void) | undefined;

  constructor(deps: WebhookSchedulerDeps) {
    this.#deps = deps;
    this.#intervalMs = deps.intervalMs ?? DEFAULTS.intervalMs;
    this.#sweepIntervalMs = deps.sweepIntervalMs ?? DEFAULTS.sweepIntervalMs;
    const pageSize = deps.pageSize ?? DEFAULTS.pageSize;
    const overlapMs = deps.overlapMs ?? DEFAULTS.overlapMs;
    const catchUpMs = deps.catchUpMs ?? DEFAULTS.catchUpMs;
    const { store, logger } = deps;
    const once = new OnceEvents(store.webhooks);
    this.#rateLimits = new RateLimitEvents({ notes: deps.rateLimitNotes, keys: store.keys, once, logger });
    this.#creditsLow = new CreditLowEvents({ notes: deps.creditNotes, keys: store.keys, once, logger });
    this.#quota = new QuotaThresholds({ usage: store.usage, plans: deps.plans, once });
    this.#expired = new ExpiryNotices({ keys: store.keys, once, pageSize, overlapMs, catchUpMs });
    this.#expiring = new ExpiryWarnings({ keys: store.keys, once, pageSize, overlapMs, fullWalkEveryMs: this.#sweepIntervalMs });
    this.#unused = new UnusedKeys({ store, organizations: deps.organizations, plans: deps.plans, audit: deps.audit, keyEvents: deps.keyEvents, pageSize });
  }

  /** Passes every `intervalMs` from now on, until stop(). */
  start(): void {
    if (this.#stop !== undefined) return;
    const unlisten = this.#deps.usage.onFlushed(this.#quota.flushed);
    const stopTimer = every(this.#intervalMs, () => this.runOnce(), {
      logger: this.#deps.logger,
      failing: "webhook scheduler pass failed; retrying every interval",
      recovered: "webhook scheduler pass succeeded again",
    });
    this.#stop = () => {
      stopTimer();
      unlisten();
    };
  }

  /** No more passes; resolves once the one running (if any) has ended. */
  async stop(): Promise<void> {
    this.#stop?.();
    this.#stop = undefined;
    await this.#pass.catch(() => {});
  }

  /**
   * One pass, after the one running (if any). Every part runs even when one fails; then the first
   * failure is thrown, and what failed is tried again next pass.
   */
  runOnce(): Promise<void> {
    const pass = this.#pass.catch(() => {}).then(() => this.#run());
    this.#pass = pass;
    return pass;
  }

  async #run(): Promise<void> {
    const nowMs = this.#deps.clock.now();
    const organizations = new OrganizationsOfPass(this.#deps.store.organizations);
    const parts: (() => Promise<unknown>)[] = [
      () => this.#rateLimits.run(nowMs),
      () => this.#creditsLow.run(nowMs, organizations),
      () => this.#quota.run(nowMs, organizations),
      () => this.#expired.run(nowMs),
      () => this.#expiring.run(nowMs, organizations),
    ];
    const sweepDue = this.#lastSweepMs === undefined || nowMs - this.#lastSweepMs >= this.#sweepIntervalMs;
    if (sweepDue) {
      parts.push(async () => {
        await this.#unused.run(nowMs);
        this.#lastSweepMs = nowMs;
      });
    }
    let failure: unknown;
    for (const part of parts) {
      try {
        await part();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
