import { keyState } from "../../model/key-state.js";
import { isDescending, isNameOrder, type KeyListQuery } from "../key-list-query.js";
import type { KeyTable } from "./key-table.js";

/**
 * One page of KeyRepository.list from an organization's rows (in id order): the rows that match
 * the query, in its order, after its cursor. Creation orders walk the rows from the cursor
 * (found by binary search) either way; name orders sort the matching rows by name, then id, as
 * MongoDB's organizationId_name_id index holds them.
 */
export function keyListPage(table: KeyTable, rows: readonly number[], query: KeyListQuery): number[] {
  const order = query.order ?? "created_asc";
  const matches = matcher(table, query);
  const page: number[] = [];
  if (!isNameOrder(order)) {
    const step = isDescending(order) ? -1 : 1;
    const afterId = query.afterId;
    let i = afterId === undefined ? (step === 1 ? 0 : rows.length - 1) : firstBeyond(table, rows, afterId, step);
    for (; i >= 0 && i < rows.length && page.length < query.limit; i += step) if (matches(rows[i]!)) page.push(rows[i]!);
    return page;
  }
  const step = isDescending(order) ? -1 : 1;
  const compare = (a: [string, string], b: [string, string]): number => step * (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
  const cursor: [string, string] | undefined = query.afterId === undefined ? undefined : [query.afterName ?? "", query.afterId];
  return rows
    .filter(matches)
    .map((row) => ({ row, at: [table.name(row), table.id(row)] as [string, string] }))
    .filter(({ at }) => cursor === undefined || compare(at, cursor) > 0)
    .sort((a, b) => compare(a.at, b.at))
    .slice(0, query.limit)
    .map(({ row }) => row);
}

function matcher(table: KeyTable, query: KeyListQuery): (row: number) => boolean {
  const search = query.search?.toLowerCase();
  const nowMs = query.state?.now.getTime() ?? 0;
  return (row) =>
    (query.isActive === undefined || table.isActive(row) === query.isActive) &&
    (query.ownerUserId === undefined || table.ownerUserId(row) === query.ownerUserId) &&
    (query.identityId === undefined || table.identityId(row) === query.identityId) &&
    // keyState reads only whether revokedAt is set, so any Date stands for "revoked".
    (query.state === undefined ||
      keyState({ revokedAt: table.isRevoked(row) ? new Date(0) : null, isActive: table.isActive(row), expiresAt: expiry(table, row) }, nowMs) === query.state.is) &&
    (query.search === undefined ||
      table.id(row) === query.search ||
      table.name(row).toLowerCase().startsWith(search!) ||
      table.keyPrefix(row).toLowerCase().startsWith(search!));
}

function expiry(table: KeyTable, row: number): Date | null {
  const ms = table.expiresAtMs(row);
  return ms === null ? null : new Date(ms);
}

/**
 * Where a walk of rows (in id order) by `step` starts after `afterId`: walking up, the first row
 * whose id sorts after it; walking down, the last whose id sorts before it.
 */
function firstBeyond(table: KeyTable, rows: readonly number[], afterId: string, step: 1 | -1): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const id = table.id(rows[mid]!);
    if (id < afterId || (step === 1 && id === afterId)) low = mid + 1;
    else high = mid;
  }
  return step === 1 ? low : low - 1;
}
