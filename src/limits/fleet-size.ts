import type { ReplicaRegistry } from "../store/store.js";

/** How often this replica announces itself; it counts as live for three announcements. */
const ANNOUNCE_EVERY_MS = 2_000;
const LIVE_FOR_MS = 3 * ANNOUNCE_EVERY_MS;

/**
 * How many replicas lease beside this one: it announces itself in the store's registry every
 * 2 s and learns the count from the answer. Slices are sized from it, and the outage share
 * divided by it.
 */
export class FleetSize {
  /**
   * Live replicas as last announced (this one included), kept through an outage; null until the
   * first announcement is answered: a replica that never learned the fleet's size takes no share.
   */
  #live: number | null = null;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly registry: ReplicaRegistry,
    private readonly holder: string,
  ) {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), ANNOUNCE_EVERY_MS);
    this.#timer.unref();
  }

  get live(): number | null {
    return this.#live;
  }

  /**
   * A window of some bucket, opened `openForMs` ago, is leased by `holders` replicas. If it is no
   * older than a replica stays live in the registry, that many are live by the registry's own
   * rule, whatever this replica learned at its last announcement: replicas started after it (the
   * rest of a rollout, a scale-up) count from their first lease on, not up to 2 s later. Sized
   * for fewer, this replica's slices held units unused that the others lacked. (A longer window's
   * holders may include replicas gone since.)
   */
  saw(holders: number, openForMs: number): void {
    if (this.#live !== null && holders > this.#live && openForMs <= LIVE_FOR_MS) this.#live = holders;
  }

  /** Announces this replica now and learns the count; resolves either way (a failure keeps the count last learned). */
  refresh(): Promise<void> {
    return this.registry.announce(this.holder, LIVE_FOR_MS).then(
      (live) => {
        this.#live = Math.max(1, live);
      },
      // The lease path reports the store's outages.
      () => {},
    );
  }

  /** Stops announcing and leaves the registry (best effort). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.registry.withdraw(this.holder).catch(() => {});
  }
}
