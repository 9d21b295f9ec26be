import { DELETED_KEY_RETENTION_MS, deletedKeyOf, type DeletedKey, type DeletedKeyRepository } from "../deleted-key-repository.js";
import type { KeyRecord } from "../../model/records.js";
import { copy } from "./copy.js";

/**
 * Deleted keys by secret hash, in the order they were deleted: every entry is kept as long, so the
 * oldest are at the front, and each write drops those past the retention from there (memory holds
 * about a retention's worth of deletions).
 */
export class MemoryDeletedKeyRepository implements DeletedKeyRepository {
  readonly #byHash = new Map<string, DeletedKey>();
  readonly #nowMs: () => number;

  constructor(nowMs: () => number = Date.now) {
    this.#nowMs = nowMs;
  }

  async findByHash(secretHash: string): Promise<DeletedKey | null> {
    const deleted = this.#byHash.get(secretHash);
    return deleted !== undefined && this.#kept(deleted, this.#nowMs()) ? copy(deleted) : null;
  }

  /** Called by the key repository in the same synchronous step as the delete. */
  remember(key: KeyRecord): void {
    const now = this.#nowMs();
    for (const [hash, held] of this.#byHash) {
      if (this.#kept(held, now)) break;
      this.#byHash.delete(hash);
    }
    const deleted = deletedKeyOf(key, new Date(now));
    for (const hash of deleted.secretHashes) this.#byHash.set(hash, deleted);
  }

  #kept(deleted: DeletedKey, now: number): boolean {
    return deleted.deletedAt.getTime() > now - DELETED_KEY_RETENTION_MS;
  }
}
