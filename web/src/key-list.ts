import { KeyOrder, KeyState, type ApiKey } from "../../gen/keygate/v1/key_admin_pb.js";
import { api } from "./api.js";

/**
 * The keys page's list, one server page at a time: ListKeys filters by state (as Check decides
 * it), searches names and prefixes (ignoring case) and ids, and orders, so the console never
 * loads an organization's whole list, however many keys it holds.
 */

export type StateFilter = "all" | "active" | "disabled" | "revoked" | "expired";
export const STATE_FILTERS: readonly (readonly [StateFilter, string])[] = [
  ["all", "All keys"],
  ["active", "Active"],
  ["disabled", "Disabled"],
  ["revoked", "Revoked"],
  ["expired", "Expired"],
];

const STATE: Record<StateFilter, KeyState> = {
  all: KeyState.UNSPECIFIED,
  active: KeyState.ACTIVE,
  disabled: KeyState.DISABLED,
  revoked: KeyState.REVOKED,
  expired: KeyState.EXPIRED,
};

/** The orders the server reads from an index; names sort by character code, capitals first. */
export type SortOrder = "newest" | "oldest" | "name" | "name-desc";
export const SORT_ORDERS: readonly (readonly [SortOrder, string])[] = [
  ["newest", "Newest first"],
  ["oldest", "Oldest first"],
  ["name", "Name (A to Z)"],
  ["name-desc", "Name (Z to A)"],
];

const ORDER: Record<SortOrder, KeyOrder> = {
  newest: KeyOrder.CREATED_DESC,
  oldest: KeyOrder.CREATED_ASC,
  name: KeyOrder.NAME_ASC,
  "name-desc": KeyOrder.NAME_DESC,
};

/** The longest search ListKeys takes. */
export const SEARCH_MAX = 100;

export interface KeyListView {
  filter: StateFilter;
  search: string;
  sort: SortOrder;
  pageSize: number;
}

/** One page of the list as `view` asks for it, from `pageToken` ("" for the first). */
export async function keyPage(view: KeyListView, pageToken: string, signal: AbortSignal): Promise<{ keys: ApiKey[]; nextPageToken: string }> {
  return api.listKeys(
    { state: STATE[view.filter], query: view.search.trim(), orderBy: ORDER[view.sort], pageSize: view.pageSize, pageToken },
    { signal },
  );
}

/**
 * The keys tied to one identity, for its page: ListKeys filtered on it server side, in its
 * largest pages (an identity's keys are usually few; the fewest round trips when they are not).
 */
export async function keysOfIdentity(identityId: string, signal: AbortSignal): Promise<ApiKey[]> {
  const keys: ApiKey[] = [];
  let pageToken = "";
  do {
    const page = await api.listKeys({ pageSize: 1000, pageToken, identityId }, { signal });
    keys.push(...page.keys);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return keys;
}
