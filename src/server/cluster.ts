import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../log/logger.js";
import type { KeyCache } from "../cache/key-cache.js";
import type { KeyEvents } from "../keys/key-events.js";
import { hashesOf } from "../model/key-hashes.js";

/**
 * Cluster mode (KEYGATE_WORKERS > 1): one primary process forks N workers, each a whole keygate
 * (server, key cache, limits, usage buffers) on the same port; the primary accepts connections
 * and hands them out round-robin (node:cluster's default on Linux), then stays out of the way.
 * Workers share nothing but the store, with two consequences:
 *  - key changes: the worker that serves an admin change evicts the key from its own cache at
 *    once and tells the primary, which tells every other worker, so a revoked key stops working
 *    in every worker within an IPC round trip, not after the cache TTL;
 *  - rate limits, the organization's per-minute rate and the monthly quota are leased from MongoDB
 *    by each worker exactly as by each replica (src/limits/leased-budgets.ts, docs/operating.md):
 *    the workers together never admit more than the limit.
 * The embedded store lives inside one process, so cluster mode needs MongoDB (config enforces it).
 */

/** The one keygate message between processes: hashes whose cached key must be dropped. */
interface EvictMessage {
  keygate: "evict";
  hashes: string[];
}

function isEvict(message: unknown): message is EvictMessage {
  if (typeof message !== "object" || message === null) return false;
  const candidate = message as Partial<EvictMessage>;
  return candidate.keygate === "evict" && Array.isArray(candidate.hashes) && candidate.hashes.every((h) => typeof h === "string");
}

export interface ClusterPrimaryOptions {
  workers: number;
  logger: Pick<Logger, "info" | "warn" | "error">;
  /** Workers get this long to finish their calls on stop, plus a margin, before they are killed. */
  shutdownTimeoutMs: number;
  /** Messages from workers that are not keygate's own, for whatever embeds the cluster (the bench). */
  onMessage?: (worker: Worker, message: unknown) => void;
  /** More unexpected worker exits than this within restartWindowMs and the primary gives up. */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** This many workers in a row exiting before they listen (the store is down, the port taken) and it gives up. */
  maxStartFailures?: number;
  /** Called once every worker is gone after the primary gave up (the process should exit). */
  onGiveUp?: () => void;
}

const KILL_MARGIN_MS = 2_000;

export class ClusterPrimary {
  readonly #options: ClusterPrimaryOptions;
  readonly #workers = new Set<Worker>();
  readonly #exitTimes: number[] = [];
  #startFailures = 0;
  readonly #pendingForks = new Set<NodeJS.Timeout>();
  #stopping: Promise<void> | undefined;

  constructor(options: ClusterPrimaryOptions) {
    if (!cluster.isPrimary) throw new Error("ClusterPrimary runs in the primary process only");
    this.#options = options;
  }

  get workers(): readonly Worker[] {
    return [...this.#workers];
  }

  start(): this {
    for (let i = 0; i < this.#options.workers; i++) this.#fork();
    this.#options.logger.info({ workers: this.#options.workers }, "cluster primary started its workers");
    return this;
  }

  #fork(): void {
    const worker = cluster.fork();
    this.#workers.add(worker);
    let listened = false;
    worker.once("listening", () => {
      listened = true;
      this.#startFailures = 0;
    });
    worker.on("message", (message: unknown) => {
      if (!isEvict(message)) return this.#options.onMessage?.(worker, message);
      for (const other of this.#workers) if (other !== worker && other.isConnected()) other.send(message);
    });
    worker.once("exit", (code, signal) => {
      this.#workers.delete(worker);
      if (this.#stopping !== undefined) return;
      this.#options.logger.error({ pid: worker.process.pid, code, signal, listened }, "keygate worker exited unexpectedly");
      const now = Date.now();
      this.#exitTimes.push(now);
      while (this.#exitTimes.length > 0 && this.#exitTimes[0]! < now - (this.#options.restartWindowMs ?? 60_000)) this.#exitTimes.shift();
      if (!listened) this.#startFailures++;
      const cannotStart = this.#startFailures >= (this.#options.maxStartFailures ?? 3);
      if (cannotStart || this.#exitTimes.length > (this.#options.maxRestarts ?? 5)) {
        this.#options.logger.error(
          { exits: this.#exitTimes.length, startFailures: this.#startFailures },
          cannotStart ? "keygate workers cannot start; the cluster stops" : "keygate workers keep exiting; the cluster stops",
        );
        void this.stop().then(() => this.#options.onGiveUp?.());
        return;
      }
      // Back off while exits pile up, so a crash loop does not spin.
      const delayMs = Math.min(30_000, 250 * 2 ** (this.#exitTimes.length - 1));
      const timer = setTimeout(() => {
        this.#pendingForks.delete(timer);
        if (this.#stopping === undefined) this.#fork();
      }, delayMs);
      this.#pendingForks.add(timer);
    });
  }

  /** Asks every worker to stop gracefully (SIGTERM), kills what is left after the deadline. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const timer of this.#pendingForks) clearTimeout(timer);
      this.#pendingForks.clear();
      const exits = [...this.#workers].map((worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once("exit", () => resolve()))));
      for (const worker of this.#workers) worker.process.kill("SIGTERM");
      const deadline = setTimeout(() => {
        for (const worker of this.#workers) worker.process.kill("SIGKILL");
      }, this.#options.shutdownTimeoutMs + KILL_MARGIN_MS);
      await Promise.all(exits);
      clearTimeout(deadline);
    })();
    return this.#stopping;
  }
}

/**
 * The primary as `main` runs it: workers started, SIGTERM and SIGINT stop them gracefully, and
 * the process exits when they are gone (with 1 when the workers kept crashing).
 */
export function runClusterPrimary(options: Omit<ClusterPrimaryOptions, "onGiveUp">): ClusterPrimary {
  const primary = new ClusterPrimary({ ...options, onGiveUp: () => process.exit(1) });
  const stop = (signal: string) => {
    options.logger.info({ signal }, "stopping keygate workers");
    void primary.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return primary.start();
}

/**
 * In a worker: sends this worker's key changes to the others (through the primary) and applies
 * theirs to this worker's cache. `onPrimaryGone` runs when the IPC channel closes (the primary
 * died): the worker should then stop, since nobody would restart or stop it. Returns a detach.
 */
export function joinCluster(app: { keyEvents: KeyEvents; keyCache: KeyCache }, onPrimaryGone: () => void): () => void {
  if (!cluster.isWorker || process.send === undefined) return () => {};
  const unsubscribe = app.keyEvents.onChange((previously) => {
    if (process.connected) process.send!({ keygate: "evict", hashes: hashesOf(previously) } satisfies EvictMessage);
  });
  const onMessage = (message: unknown) => {
    if (isEvict(message)) for (const hash of message.hashes) app.keyCache.evict(hash);
  };
  process.on("message", onMessage);
  process.once("disconnect", onPrimaryGone);
  return () => {
    unsubscribe();
    process.off("message", onMessage);
    process.off("disconnect", onPrimaryGone);
  };
}
