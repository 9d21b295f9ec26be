import { randomBytes } from "node:crypto";
import type { Logger } from "../log/logger.js";
import type { Clock } from "../time/clock.js";
import { OVERFLOW_ENDPOINT, type EndpointNormalizer } from "./endpoint.js";
import { FIRST_FAILED_STATUS, type CheckUsageEvent, type ResponseUsageEvent, type UsageRecorder } from "./usage-event.js";
import { USAGE_METRIC, type UsageMetrics } from "./usage-metrics.js";
import type { KeyDayDelta, UsageBatch, UsageRepository } from "../store/usage-repository.js";
import type { KeyDayUsage } from "../model/usage-tally.js";
import { dayStartMs, utcDay, type DayRange } from "../time/utc-days.js";
import { KeyDayRows, OUTCOME_INDEX, SCALAR } from "./key-day-rows.js";

/**
 * Check's usage recorder. Each decision (and each access-log response) adds to in-memory counters
 * per key × UTC day (key-day-rows.ts: typed arrays, nothing allocated per request); nothing
 * touches the store on the request path. A flush takes every key-day's counts in one synchronous
 * step, leaving them at zero, cuts what it took into batches of `batchSize` key-days,
 * each with an id of its own, and applies them in order. A batch whose write fails stays queued,
 * unchanged and with the same id, and is applied again before anything newer: stores apply a batch
 * id at most once per record, so a write that failed halfway, or whose acknowledgement was lost,
 * neither loses nor doubles a count. Meanwhile new counts aggregate in the buffer, which is only
 * taken once the queue is empty.
 *
 * Memory is bounded: at most `maxBufferedEntries` key-days wait (buffer and queue together; beyond
 * that, increments for new key-days are dropped, counted and logged), and a key has at most
 * MAX_ENDPOINTS_PER_KEY_DAY distinct endpoints a day in this process (the rest count as `* {other}`),
 * so no stored day can grow without bound either.
 */

export const MAX_ENDPOINTS_PER_KEY_DAY = 100;
/**
 * Key-days of today whose distinct endpoints are remembered for that cap once flushed, beyond the
 * buffered ones: a million keys in use (about 190 bytes each, the arrays growing as they fill).
 */
const REMEMBERED_KEY_DAYS = 1_000_000;
const NONE = -1;
const DAY_MS = 86_400_000;
/** Flush attempts on close, with a pause that doubles from CLOSE_RETRY_PAUSE_MS between them. */
const CLOSE_ATTEMPTS = 4;
const CLOSE_RETRY_PAUSE_MS = 100;

/** A batch the store took: what changed, for WatchUsage. */
export interface FlushedUsage {
  observedAtMs: number;
  entries: readonly KeyDayUsage[];
}

export type FlushListener = (flushed: FlushedUsage) => void;

export interface UsageAggregatorOptions {
  repository: UsageRepository;
  clock: Clock;
  logger: Logger;
  metrics: UsageMetrics;
  normalizeEndpoint: EndpointNormalizer;
  flushIntervalMs: number;
  /** Key-days per batch (one store bulk write each). */
  batchSize: number;
  maxBufferedEntries: number;
  retentionDays: number;
}

export class UsageAggregator implements UsageRecorder {
  readonly #options: UsageAggregatorOptions;
  readonly #bootId = randomBytes(6).toString("hex");
  #batchSeq = 0;
  /** Counts per key-day (kept apart by organization too, so no event can add to another's key). */
  readonly #rows: KeyDayRows;
  readonly #queue: UsageBatch[] = [];
  #queuedEntries = 0;
  readonly #listeners = new Set<FlushListener>();
  #tail: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #earlyFlush: NodeJS.Immediate | undefined;
  #droppedSinceLog = 0;
  #failing = false;
  #closed = false;
  /** A timer-started flush is running: the next tick does not queue another behind it. */
  #flushingInBackground = false;

  constructor(options: UsageAggregatorOptions) {
    this.#options = options;
    this.#rows = new KeyDayRows(options.maxBufferedEntries + REMEMBERED_KEY_DAYS);
  }

  /** Flushes every flushIntervalMs until close(). */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.flushIntervalMs);
    this.#timer.unref();
  }

  record(event: CheckUsageEvent): void {
    const outcome = OUTCOME_INDEX.get(event.outcome);
    if (outcome === undefined) return this.#invalid();
    const row = this.#row(event.organizationId, event.keyId, event.atMs);
    if (row === NONE) return;
    const rows = this.#rows;
    rows.addOutcome(row, outcome);
    rows.addEndpoint(row, this.#options.normalizeEndpoint(event.method, event.path), MAX_ENDPOINTS_PER_KEY_DAY, OVERFLOW_ENDPOINT);
    if (event.outcome === "allowed") {
      rows.usedAt(row, event.atMs);
      const bytes = event.requestBytes;
      if (bytes !== undefined && Number.isSafeInteger(bytes) && bytes > 0) rows.addScalar(row, SCALAR.checkBytes, bytes);
    }
    this.#flushEarlyWhenFull();
  }

  /** An upstream response from the access log, already checked (see access-log-entry.ts). */
  recordResponse(event: ResponseUsageEvent): void {
    const row = this.#row(event.organizationId, event.keyId, event.atMs);
    if (row === NONE) return;
    const rows = this.#rows;
    rows.addScalar(row, event.status < FIRST_FAILED_STATUS ? SCALAR.successful : SCALAR.failed, 1);
    if (event.durationUs !== undefined) {
      rows.addScalar(row, SCALAR.timedResponses, 1);
      rows.addScalar(row, SCALAR.responseTimeUs, event.durationUs);
    }
    rows.addScalar(row, SCALAR.transferredBytes, event.transferredBytes);
    this.#flushEarlyWhenFull();
  }

  /**
   * Writes everything recorded before the call. Rejects when a batch could not be written; it
   * stays queued and the next flush applies it again.
   */
  flush(): Promise<void> {
    const run = this.#tail.then(() => this.#flushOnce());
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Stops the timer and flushes, trying a few times; logs what could not be written. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#earlyFlush) clearImmediate(this.#earlyFlush);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.flush();
        this.#logDropped();
        return;
      } catch (error) {
        if (attempt === CLOSE_ATTEMPTS) {
          this.#options.logger.error({ err: error, unflushedKeyDays: this.unflushedEntries }, "usage not written at shutdown: these counts are lost");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, CLOSE_RETRY_PAUSE_MS * 2 ** (attempt - 1)));
      }
    }
  }

  /** Key-days recorded but not yet written (buffered or queued). */
  get unflushedEntries(): number {
    return this.#rows.dirtyRows + this.#queuedEntries;
  }

  /** Allowed decisions of the organization within `range` that the store does not hold yet. */
  unflushedAllowed(organizationId: string, range: DayRange): number {
    let allowed = this.#rows.dirtyAllowed(organizationId, range.from, range.to);
    for (const batch of this.#queue) {
      for (const entry of batch.entries) {
        if (entry.organizationId === organizationId && entry.day >= range.from && entry.day <= range.to) allowed += entry.tally.outcomes.allowed ?? 0;
      }
    }
    return allowed;
  }

  /** Calls `listener` after each batch the store took; returns the function that stops it. */
  onFlushed(listener: FlushListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  #invalid(): void {
    this.#options.metrics.increment(USAGE_METRIC.invalidEvents);
  }

  /** The key-day's row, with counts to flush from now on; NONE when the event is invalid or the buffer full. */
  #row(organizationId: string, keyId: string, atMs: number): number {
    if (!organizationId || !keyId || !Number.isFinite(atMs)) {
      this.#invalid();
      return NONE;
    }
    const rows = this.#rows;
    let row = rows.find(organizationId, keyId, atMs);
    if (row !== NONE && rows.isDirty(row)) return row;
    if (this.unflushedEntries >= this.#options.maxBufferedEntries) {
      this.#options.metrics.increment(USAGE_METRIC.dropped);
      this.#droppedSinceLog++;
      return NONE;
    }
    if (row === NONE) row = rows.add(organizationId, keyId, utcDay(atMs), atMs);
    if (row === NONE) return NONE;
    rows.markDirty(row);
    return row;
  }

  #flushEarlyWhenFull(): void {
    if (this.#earlyFlush || this.#closed || this.#rows.dirtyRows < this.#options.batchSize) return;
    this.#earlyFlush = setImmediate(() => {
      this.#earlyFlush = undefined;
      this.#flushInBackground();
    });
  }

  #tick(): void {
    this.#logDropped();
    this.#flushInBackground();
  }

  #flushInBackground(): void {
    if (this.#flushingInBackground) return;
    this.#flushingInBackground = true;
    this.flush()
      .then(
        () => {
          if (this.#failing) this.#options.logger.info("usage flush recovered");
          this.#failing = false;
        },
        (error: unknown) => {
          // Logged once per outage; the batch is applied again on the next tick.
          if (!this.#failing) this.#options.logger.error({ err: error, unflushedKeyDays: this.unflushedEntries }, "usage flush failed; retrying");
          this.#failing = true;
        },
      )
      .finally(() => (this.#flushingInBackground = false));
  }

  #logDropped(): void {
    if (this.#droppedSinceLog === 0) return;
    this.#options.logger.warn(
      { dropped: this.#droppedSinceLog, maxBufferedEntries: this.#options.maxBufferedEntries },
      "usage buffer full: increments dropped",
    );
    this.#droppedSinceLog = 0;
  }

  async #flushOnce(): Promise<void> {
    await this.#drainQueue();
    if (this.#rows.dirtyRows === 0) return;
    const retainMs = (this.#options.retentionDays + 1) * DAY_MS;
    const entries: KeyDayDelta[] = this.#rows.take(this.#options.clock.now()).map((counts) => ({ ...counts, expireAtMs: dayStartMs(counts.day) + retainMs }));
    for (let i = 0; i < entries.length; i += this.#options.batchSize) {
      this.#queue.push({ id: `${this.#bootId}-${++this.#batchSeq}`, entries: entries.slice(i, i + this.#options.batchSize) });
    }
    this.#queuedEntries += entries.length;
    await this.#drainQueue();
  }

  async #drainQueue(): Promise<void> {
    const { repository, metrics, logger, clock } = this.#options;
    while (this.#queue.length > 0) {
      const batch = this.#queue[0]!;
      let rejected;
      try {
        ({ rejected } = await repository.apply(batch));
      } catch (error) {
        metrics.increment(USAGE_METRIC.flushFailures);
        throw error;
      }
      this.#queue.shift();
      this.#queuedEntries -= batch.entries.length;
      metrics.increment(USAGE_METRIC.batchesFlushed);
      if (rejected.length > 0) {
        metrics.increment(USAGE_METRIC.rejectedEntries, rejected.length);
        logger.error({ rejected }, "the store refused usage for good: those counts are lost");
      }
      const refused = new Set(rejected.map((r) => `${r.keyId}\n${r.day}`));
      const entries = batch.entries.filter((entry) => !refused.has(`${entry.keyId}\n${entry.day}`));
      this.#emit({ observedAtMs: clock.now(), entries });
    }
  }

  #emit(flushed: FlushedUsage): void {
    for (const listener of this.#listeners) {
      try {
        listener(flushed);
      } catch (error) {
        this.#options.logger.error({ err: error }, "usage listener failed");
      }
    }
  }
}
