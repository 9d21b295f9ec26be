import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../log/logger.js";
import { noChangeFeedObserver, type ChangeFeedObserver } from "../metrics/observers.js";
import type { ChangeLogEntry, ChangeLogRepository, ChangeLogStream } from "../store/store.js";
import type { IdentityCache } from "./identity-cache.js";
import type { KeyCache } from "./key-cache.js";

/**
 * Carries key changes between replicas over the store. The store writes each change to the
 * shared change log itself, in the same transaction as the change (a revoke is never
 * acknowledged without its entry, even when the primary dies right after); every `intervalMs`
 * this replica reads the log's last `windowMs` (by the store's clock) and applies what other
 * replicas changed: the key's record as it is now replaces its cached entries (KeyCache.refresh),
 * and a changed identity leaves the identity cache, to be read again when next needed.
 *
 * The look-back window is much longer than the interval, so an entry committed late (stamped
 * before a poll that did not see it yet) is still read by a later poll; entries already applied
 * are skipped by id. When no poll succeeded for longer than half the window (a store outage),
 * entries may have slid out of it unseen: the whole cache is dropped instead.
 *
 * When the store can push entries (changes.watch: a MongoDB replica set or sharded cluster), the
 * feed also follows that stream and applies each entry as it arrives, by the same rules: own
 * entries skipped, each entry applied once by id, nothing published again. The poll keeps running
 * beside it, as its safety net rather than a fallback to switch to: whatever a broken stream
 * missed (between a break the driver could not resume and the reopen, or while a connection hung
 * unnoticed) is still in the poll's window, and a gap in the poll itself drops the cache as
 * above. So a stream failure never needs the cache dropped nor a mode switched; the feed only
 * reopens the stream, every reopenDelayMs until it opens. The price is the poll's one small query
 * per interval, which every replica made before the stream anyway.
 *
 * Propagation bound with a healthy store: while the stream runs, the entry's write plus its
 * replication to a majority of members (change streams only carry majority-committed writes);
 * whatever happens to the stream, never more than intervalMs plus one store round trip.
 *
 * Through an election: a poll sent to a primary that stopped answering without closing its
 * connections waits out the store's read deadline, so it does not hold the next poll back for
 * more than half an interval (at most MAX_POLLS_IN_FLIGHT run at once). And what the old primary
 * acknowledged last is readable again only once the new primary has committed in its term, a
 * moment after it is elected, which no poll can know in advance: when the store reports a new
 * primary (changes.onNewPrimary) the feed polls at once, then every tenth of an interval for
 * CATCH_UP_MS, so such a change arrives within a fraction of an interval of becoming readable.
 */
export interface ChangeFeedOptions {
  changes: ChangeLogRepository;
  keyCache: Pick<KeyCache, "refresh" | "evictOrganization" | "clear">;
  /** Identities Check holds for their limits (identity-cache.ts): an identity's entry drops it; default none. */
  identityCache?: Pick<IdentityCache, "invalidate" | "clear">;
  intervalMs: number;
  logger: Pick<Logger, "warn" | "info">;
  /** How far back each poll reads; default max(10 s, 10 × intervalMs). */
  windowMs?: number;
  /** How long after the change stream failed it is opened again; default REOPEN_DELAY_MS. */
  reopenDelayMs?: number;
  nowMs?: () => number;
  /** Metrics: polls, entries applied, stream failures, cache drops; default none. */
  observer?: ChangeFeedObserver;
}

/** How long after the change stream failed it is opened again; the poll covers meanwhile. */
const REOPEN_DELAY_MS = 1_000;
/** Polls stuck at once on a member that stopped answering, each until the store's read deadline. */
const MAX_POLLS_IN_FLIGHT = 4;
/**
 * How long the feed polls briskly after a new primary: well past the few hundred milliseconds a
 * new primary takes to commit in its term, even on a busy machine.
 */
const CATCH_UP_MS = 5_000;
/** The brisk polls' floor, for the shortest poll intervals. */
const MIN_CATCH_UP_EVERY_MS = 25;

export class ChangeFeed {
  readonly #options: ChangeFeedOptions;
  readonly #windowMs: number;
  readonly #reopenDelayMs: number;
  readonly #nowMs: () => number;
  readonly #observer: ChangeFeedObserver;
  /** Applied entry ids and when they were seen, pruned after two windows. */
  readonly #applied = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  /** Polls not yet answered; the newest holds the next one back for a while (#poll). */
  readonly #polls = new Set<Promise<void>>();
  #newest: { startedMs: number; done: Promise<void> } | undefined;
  /** The brisk polls after a new primary, and when they stop. */
  #catchUpTimer: NodeJS.Timeout | undefined;
  #catchUpUntilMs = 0;
  #stopWatchingPrimary: (() => void) | undefined;
  #lastPollMs: number | undefined;
  #closed = false;
  /** Aborted by close(): ends the wait before a reopen. */
  readonly #closing = new AbortController();
  /** The open change stream, if any. */
  #stream: ChangeLogStream | undefined;
  /** The loop following the stream, from start() until close(). */
  #following: Promise<void> | undefined;

  constructor(options: ChangeFeedOptions) {
    this.#options = options;
    this.#windowMs = options.windowMs ?? Math.max(10_000, 10 * options.intervalMs);
    this.#reopenDelayMs = options.reopenDelayMs ?? REOPEN_DELAY_MS;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#observer = options.observer ?? noChangeFeedObserver;
  }

  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => void this.tick(), this.#options.intervalMs);
    this.#timer.unref();
    this.#stopWatchingPrimary = this.#options.changes.onNewPrimary?.(() => this.catchUp());
    this.#following = this.#followStream();
  }

  /**
   * Applies remote changes. Asked while a poll that started less than half an interval ago runs,
   * it waits for that one instead of reading again.
   */
  tick(): Promise<void> {
    return this.#poll(this.#options.intervalMs / 2);
  }

  /** Polls at once, then every tenth of an interval for CATCH_UP_MS (a new primary). */
  catchUp(): void {
    if (this.#closed) return;
    this.#catchUpUntilMs = this.#nowMs() + CATCH_UP_MS;
    void this.#poll(0);
    if (this.#catchUpTimer !== undefined) return;
    const everyMs = Math.max(MIN_CATCH_UP_EVERY_MS, this.#options.intervalMs / 10);
    this.#catchUpTimer = setInterval(() => {
      if (this.#nowMs() < this.#catchUpUntilMs) return void this.#poll(everyMs / 2);
      clearInterval(this.#catchUpTimer);
      this.#catchUpTimer = undefined;
    }, everyMs);
    this.#catchUpTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#catchUpTimer);
    this.#stopWatchingPrimary?.();
    this.#closing.abort();
    await this.#stream?.close().catch(() => {});
    await this.#following;
    await Promise.all(this.#polls);
  }

  /** A new poll, unless the newest still running started less than `holdMs` ago, or too many run. */
  #poll(holdMs: number): Promise<void> {
    const startedMs = this.#nowMs();
    const newest = this.#newest;
    if (newest !== undefined && (startedMs - newest.startedMs < holdMs || this.#polls.size >= MAX_POLLS_IN_FLIGHT)) return newest.done;
    const done: Promise<void> = this.#read(startedMs).finally(() => {
      this.#polls.delete(done);
      if (this.#newest?.done === done) this.#newest = undefined;
    });
    this.#polls.add(done);
    this.#newest = { startedMs, done };
    return done;
  }

  async #read(startedMs: number): Promise<void> {
    let entries;
    try {
      entries = await this.#options.changes.recent(this.#windowMs);
    } catch (error) {
      this.#observer.polled("failed", (this.#nowMs() - startedMs) / 1000);
      this.#options.logger.warn({ err: error }, "change log read failed; retrying");
      return;
    }
    this.#observer.polled("ok", (this.#nowMs() - startedMs) / 1000);
    if (this.#lastPollMs !== undefined && startedMs - this.#lastPollMs > this.#windowMs / 2) {
      this.#options.logger.info({ sinceLastReadMs: Math.round(startedMs - this.#lastPollMs) }, "change log unread too long; dropping the key and identity caches");
      this.#observer.cacheDropped();
      this.#options.keyCache.clear();
      this.#options.identityCache?.clear();
    }
    // Polls may answer out of order; the gap is measured from the latest that read.
    this.#lastPollMs = Math.max(this.#lastPollMs ?? startedMs, startedMs);
    for (const entry of entries) this.#apply(entry, startedMs, "poll");
    for (const [id, seenMs] of this.#applied) {
      if (startedMs - seenMs <= 2 * this.#windowMs) break;
      this.#applied.delete(id);
    }
  }

  /**
   * Applies a change, once per entry. This replica's own entries too: its KeyEvents applied each
   * change it saw commit, but a change whose commit it could not confirm (answered "may have been
   * applied") reaches its cache only this way; applying one twice is harmless (KeyCache.refresh
   * never goes back to an older record).
   */
  #apply(entry: ChangeLogEntry, seenMs: number, source: "poll" | "stream"): void {
    if (this.#applied.has(entry.id)) return;
    this.#applied.set(entry.id, seenMs);
    this.#observer.applied(source);
    const change = entry.change;
    if (change.kind === "key") this.#options.keyCache.refresh(change.hashes, change.key);
    else if (change.kind === "identity") this.#options.identityCache?.invalidate(change.identityId);
    else this.#options.keyCache.evictOrganization(change.organizationId);
  }

  /**
   * Applies the store's change stream as it arrives, reopening it after it breaks, until close().
   * Returns at once when the store has no stream (a standalone MongoDB): the poll is all there is.
   */
  async #followStream(): Promise<void> {
    const changes = this.#options.changes;
    if (changes.watch === undefined) return;
    let reopening = false;
    while (!this.#closed) {
      try {
        const stream = await changes.watch();
        if (stream === null) {
          this.#options.logger.info("the store cannot push changes (standalone MongoDB): polling the change log only");
          return;
        }
        if (this.#closed) {
          // close() ran while it opened, before there was a stream to close.
          await stream.close();
          return;
        }
        this.#stream = stream;
        if (reopening) this.#options.logger.info("change stream reopened");
        reopening = false;
        for await (const entry of stream) this.#apply(entry, this.#nowMs(), "stream");
      } catch (error) {
        if (this.#closed) return;
        this.#observer.streamFailed();
        // Once per failure streak: a stream that cannot open at all (a user without the
        // changeStream privilege) would otherwise log every reopenDelayMs.
        if (!reopening) this.#options.logger.warn({ err: error, reopenInMs: this.#reopenDelayMs }, "change stream failed; the poll covers until it reopens");
      } finally {
        this.#stream = undefined;
      }
      reopening = true;
      await sleep(this.#reopenDelayMs, undefined, { signal: this.#closing.signal, ref: false }).catch(() => {});
    }
  }
}
