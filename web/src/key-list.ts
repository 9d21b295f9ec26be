import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ApiKey } from "../../gen/keygate/v1/key_admin_pb.js";
import { keyState, type KeyState } from "../../src/model/key-state.js";
import { api } from "./api.js";

/**
 * The keys page's list: every key of the organization, then filtered by state, searched by name or
 * prefix and sorted here. ListKeys filters only by is_active (which puts revoked keys among the
 * inactive ones) and neither searches nor sorts, so the console reads the whole list (a plan
 * bounds it) and decides with the same state rule Check uses.
 */

export type StateFilter = "all" | KeyState;
export const STATE_FILTERS: readonly (readonly [StateFilter, string])[] = [
  ["all", "All keys"],
  ["active", "Active"],
  ["disabled", "Disabled"],
  ["revoked", "Revoked"],
  ["expired", "Expired"],
];

export type SortOrder = "newest" | "oldest" | "name" | "last-used" | "requests";
export const SORT_ORDERS: readonly (readonly [SortOrder, string])[] = [
  ["newest", "Newest first"],
  ["oldest", "Oldest first"],
  ["name", "Name (A to Z)"],
  ["last-used", "Last used first"],
  ["requests", "Most requests today"],
];

/** ListKeys' largest page: the fewest round trips for the whole list. */
const PAGE_SIZE = 1000;

export async function loadAllKeys(signal: AbortSignal): Promise<ApiKey[]> {
  const keys: ApiKey[] = [];
  let pageToken = "";
  do {
    const page = await api.listKeys({ pageSize: PAGE_SIZE, pageToken }, { signal });
    keys.push(...page.keys);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return keys;
}

/** Keys in `state` whose name, prefix or id contains `search` (any case). */
export function matching(keys: readonly ApiKey[], state: StateFilter, search: string, nowMs: number): ApiKey[] {
  const needle = search.trim().toLowerCase();
  return keys.filter(
    (key) =>
      (state === "all" || keyState(key, nowMs) === state) &&
      (needle === "" || [key.name, key.keyPrefix, key.id].some((text) => text.toLowerCase().includes(needle))),
  );
}

const ms = (at: Timestamp | undefined) => (at ? timestampDate(at).getTime() : 0);
const byName = (a: ApiKey, b: ApiKey) => a.name.localeCompare(b.name, undefined, { sensitivity: "base", numeric: true }) || a.id.localeCompare(b.id);

const ORDERS: Record<SortOrder, (a: ApiKey, b: ApiKey) => number> = {
  newest: (a, b) => ms(b.createdAt) - ms(a.createdAt) || byName(a, b),
  oldest: (a, b) => ms(a.createdAt) - ms(b.createdAt) || byName(a, b),
  name: byName,
  // Never used keys last.
  "last-used": (a, b) => ms(b.lastUsedAt) - ms(a.lastUsedAt) || byName(a, b),
  requests: (a, b) => Number((b.usage?.requestsToday ?? 0n) - (a.usage?.requestsToday ?? 0n)) || byName(a, b),
};

export function sorted(keys: readonly ApiKey[], order: SortOrder): ApiKey[] {
  return [...keys].sort(ORDERS[order]);
}
