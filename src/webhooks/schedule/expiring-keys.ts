import type { KeyRecord } from "../../model/records.js";
import type { KeyRepository } from "../../store/store.js";

/**
 * Every usable key of every organization whose expiry falls in (from, to], a page at a time
 * (KeyRepository.listExpiringBetween, in id order after a cursor), so a pass over many keys holds
 * one page in memory.
 */
export async function* keysExpiringBetween(
  keys: Pick<KeyRepository, "listExpiringBetween">,
  from: Date,
  to: Date,
  pageSize: number,
): AsyncGenerator<KeyRecord & { expiresAt: Date }> {
  let afterId: string | undefined;
  for (;;) {
    const page = await keys.listExpiringBetween(from, to, { limit: pageSize, ...(afterId !== undefined && { afterId }) });
    for (const key of page) if (key.expiresAt !== null) yield key as KeyRecord & { expiresAt: Date };
    if (page.length < pageSize) return;
    afterId = page[page.length - 1]!.id;
  }
}
