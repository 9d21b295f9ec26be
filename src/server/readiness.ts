import type { Store } from "../store/store.js";

/**
 * Whether keygate should receive traffic: the store can serve key reads (store.ping; on MongoDB
 * also during an election, while a member answers) and no shutdown has begun. A monitor pings
 * the store on an interval so gRPC health Watch streams learn of changes without each client
 * polling the store; `/readyz` and health Check ping on demand.
 */
export type ServingState = "serving" | "not_serving";

export class Readiness {
  #storeUp = false;
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(state: ServingState) => void>();

  constructor(
    private readonly store: Pick<Store, "ping">,
    private readonly pingTimeoutMs = 1_000,
  ) {}

  get state(): ServingState {
    return this.#storeUp && !this.#stopping.signal.aborted ? "serving" : "not_serving";
  }

  /** Aborted when shutdown begins, for streams that should end then rather than hold the shutdown. */
  get stopping(): AbortSignal {
    return this.#stopping.signal;
  }

  /**
   * Pings the store now and returns the resulting state. A failed ping is tried once more at
   * once: a ping on a connection that a stepping-down primary just closed fails, while the next
   * one goes to a member that answers, and one such ping must not take every replica out of
   * traffic at the same moment.
   */
  async refresh(): Promise<ServingState> {
    const up = (await this.#ping()) || (await this.#ping());
    this.#set(() => {
      this.#storeUp = up;
    });
    return this.state;
  }

  /**
   * One ping, given pingTimeoutMs: then the store abandons it (the signal), and the answer does
   * not wait on a store that ignores that.
   */
  async #ping(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new AbortController();
    try {
      await Promise.race([
        this.store.ping(deadline.signal),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            const timedOut = new Error("store ping timed out");
            deadline.abort(timedOut);
            reject(timedOut);
          }, this.pingTimeoutMs);
        }),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  startMonitoring(intervalMs: number): void {
    this.stopMonitoring();
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
  }

  stopMonitoring(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** From now on the service reports NOT_SERVING, whatever the store says. */
  beginShutdown(): void {
    this.#set(() => this.#stopping.abort());
    this.stopMonitoring();
  }

  /** Calls the listener on every change of state; returns a function that removes it. */
  onChange(listener: (state: ServingState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(change: () => void): void {
    const before = this.state;
    change();
    const after = this.state;
    if (after !== before) for (const listener of this.#listeners) listener(after);
  }
}
