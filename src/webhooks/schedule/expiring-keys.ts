import type { KeyRecord } from "../../model/records.js";
import type { ExpiryCursor, KeyRepository } from "../../store/store.js";

/**
 * Every usable key of every organization whose expiry falls in (from, to], a page at a time
 * (KeyRepository.listExpiringBetween, in (expiresAt, id) order after a cursor of both), so a pass
 * over many keys holds one page in memory and each page is read from the expiry index in order.
 */
export async function* keysExpiringBetween(
  keys: Pick<KeyRepository, "listExpiringBetween">,
  from: Date,
  to: Date,
  pageSize: number,
): AsyncGenerator<KeyRecord & { expiresAt: Date }> {
  let after: ExpiryCursor | undefined;
  for (;;) {
    const page = (await keys.listExpiringBetween(from, to, { limit: pageSize, ...(after !== undefined && { after }) })) as (KeyRecord & { expiresAt: Date })[];
    yield* page;
    if (page.length < pageSize) return;
    const last = page[page.length - 1]!;
    after = { expiresAt: last.expiresAt, id: last.id };
  }
}
