import type { ReplicaRegistry } from "../store.js";
import { systemClock, type Clock } from "../../time/clock.js";

/** Live replicas in memory, on the same rules as MongoReplicaRegistry (the embedded store has one process, but the contract is shared). */
export class MemoryReplicaRegistry implements ReplicaRegistry {
  readonly #liveUntil = new Map<string, number>();

  constructor(private readonly clock: Clock = systemClock) {}

  async announce(holder: string, ttlMs: number): Promise<number> {
    const nowMs = this.clock.now();
    this.#liveUntil.set(holder, nowMs + ttlMs);
    for (const [other, until] of this.#liveUntil) if (until <= nowMs) this.#liveUntil.delete(other);
    return this.#liveUntil.size;
  }

  async withdraw(holder: string): Promise<void> {
    this.#liveUntil.delete(holder);
  }
}
