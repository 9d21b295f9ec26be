import type { ReplicaRegistry } from "../store/store.js";

/** How often this replica announces itself; it counts as live for three announcements. */
const ANNOUNCE_EVERY_MS = 2_000;

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

  /** Announces this replica now and learns the count; resolves either way (a failure keeps the count last learned). */
  refresh(): Promise<void> {
    return this.registry.announce(this.holder, 3 * ANNOUNCE_EVERY_MS).then(
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
