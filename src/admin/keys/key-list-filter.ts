import type { ListKeysRequest } from "../../../gen/keygate/v1/key_admin_pb.js";
import { KeyOrder, KeyState as KeyStateEnum } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyState } from "../../model/key-state.js";
import type { KeyListOrder } from "../../store/store.js";
import { isId } from "../../model/ids.js";
import { fieldError, notAnId } from "../errors.js";
import { validText } from "../validation.js";

/**
 * ListKeys' filter, search and order, checked before anything is read. The organization is never
 * part of it: the handler decides which one is listed. A page token records all of it
 * (serialisedKeyListFilter), so a later page cannot switch to another filter or order.
 */
export interface KeyListFilter {
  isActive?: boolean;
  identityId?: string;
  state?: KeyState;
  search?: string;
  order: KeyListOrder;
}

const QUERY_MAX = 100;

const STATES: Readonly<Record<number, KeyState>> = {
  [KeyStateEnum.ACTIVE]: "active",
  [KeyStateEnum.DISABLED]: "disabled",
  [KeyStateEnum.REVOKED]: "revoked",
  [KeyStateEnum.EXPIRED]: "expired",
};

const ORDERS: Readonly<Record<number, KeyListOrder>> = {
  [KeyOrder.UNSPECIFIED]: "created_desc",
  [KeyOrder.CREATED_DESC]: "created_desc",
  [KeyOrder.CREATED_ASC]: "created_asc",
  [KeyOrder.NAME_ASC]: "name_asc",
  [KeyOrder.NAME_DESC]: "name_desc",
};

export function keyListFilterOf(req: ListKeysRequest): KeyListFilter {
  const state = STATES[req.state];
  if (req.state !== KeyStateEnum.UNSPECIFIED && state === undefined) {
    throw fieldError("state", "must be KEY_STATE_ACTIVE, KEY_STATE_DISABLED, KEY_STATE_REVOKED or KEY_STATE_EXPIRED");
  }
  const order = ORDERS[req.orderBy];
  if (order === undefined) {
    throw fieldError("order_by", "must be KEY_ORDER_CREATED_DESC, KEY_ORDER_CREATED_ASC, KEY_ORDER_NAME_ASC or KEY_ORDER_NAME_DESC");
  }
  // An identity of another organization lists nothing, as an unknown one does: the handler's
  // query names the organization listed.
  if (req.identityId !== "" && !isId("idt", req.identityId)) throw fieldError("identity_id", notAnId("idt", req.identityId));
  const search = validText(req.query, "query", QUERY_MAX).trim();
  if (search.includes("\n") || search.includes("\t")) throw fieldError("query", "must be one line");
  return {
    ...(req.isActive !== undefined && { isActive: req.isActive }),
    ...(req.identityId !== "" && { identityId: req.identityId }),
    ...(state !== undefined && { state }),
    ...(search !== "" && { search }),
    order,
  };
}

export const serialisedKeyListFilter = (filter: KeyListFilter): string =>
  JSON.stringify([filter.isActive ?? null, filter.state ?? null, filter.search ?? null, filter.order, filter.identityId ?? null]);
