import type { KeyState } from "../model/key-state.js";

/**
 * What a listing of one organization's keys asks for: filters, a search, an order and where the
 * page starts. Both stores answer it the same way (test/store/contract/key-list-filters.ts).
 */

/** Creation order is id order: ids sort by creation time. Name orders break ties by id. */
export type KeyListOrder = "created_asc" | "created_desc" | "name_asc" | "name_desc";

export interface KeyListQuery {
  isActive?: boolean;
  /** Only the keys this user owns. */
  ownerUserId?: string;
  /** Only the keys tied to this identity. */
  identityId?: string;
  /** Only the keys in this state at `now`, as Check decides it (src/model/key-state.ts). */
  state?: { is: KeyState; now: Date };
  /**
   * Only the keys whose name or key prefix starts with this text, ignoring case, or whose id it
   * is. Matched as text, never as a pattern.
   */
  search?: string;
  /** Absent: created_asc. */
  order?: KeyListOrder;
  /** Return keys after this one in the order (the last key of the previous page). */
  afterId?: string;
  /** The name of the key `afterId` names, for the name orders. */
  afterName?: string;
  limit: number;
}

export const isNameOrder = (order: KeyListOrder): boolean => order === "name_asc" || order === "name_desc";
export const isDescending = (order: KeyListOrder): boolean => order === "created_desc" || order === "name_desc";
