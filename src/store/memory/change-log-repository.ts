import type { ChangeLogEntry, ChangeLogRepository } from "../store.js";

/** One process, nobody else to tell: nothing is kept. */
export class MemoryChangeLogRepository implements ChangeLogRepository {
  async recent(): Promise<ChangeLogEntry[]> {
    return [];
  }
}
