import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ListAuditEventsRequest } from "../../../gen/keygate/v1/key_admin_pb.js";
import { isId, type IdKind } from "../../model/ids.js";
import type { AuditListQuery } from "../../store/store.js";
import { fieldError, notAnId } from "../errors.js";

/**
 * ListAuditEvents' filters, checked before anything is read: an action is a dotted lower-case
 * name (`key.revoke`), actors are ids of their kind, and a time range is not empty. The
 * organization is never part of it: the handler always lists the caller's own.
 */
export type AuditFilter = Omit<AuditListQuery, "beforeId" | "limit">;

const ACTION = /^[a-z][a-z_]*(\.[a-z_]+)+$/;
const ACTION_MAX = 64;

function validAction(action: string): string {
  if (action.length > ACTION_MAX || !ACTION.test(action)) {
    throw fieldError("action", "must be an audit action such as key.create, key.revoke or auth.failed");
  }
  return action;
}

function validActor(id: string, kind: IdKind, field: string): string {
  if (!isId(kind, id)) throw fieldError(field, notAnId(kind, id));
  return id;
}

function validTime(ts: Timestamp, field: string): Date {
  let date: Date;
  try {
    date = timestampDate(ts);
  } catch {
    throw fieldError(field, "is not a valid timestamp");
  }
  if (Number.isNaN(date.getTime())) throw fieldError(field, "is not a valid timestamp");
  return date;
}

export function auditFilterOf(req: ListAuditEventsRequest): AuditFilter {
  const filter: AuditFilter = {
    ...(req.keyId !== "" && { keyId: req.keyId }),
    ...(req.action !== "" && { action: validAction(req.action) }),
    ...(req.actorUserId !== "" && { actorUserId: validActor(req.actorUserId, "user", "actor_user_id") }),
    ...(req.actorKeyId !== "" && { actorKeyId: validActor(req.actorKeyId, "key", "actor_key_id") }),
    ...(req.occurredFrom && { occurredFrom: validTime(req.occurredFrom, "occurred_from") }),
    ...(req.occurredBefore && { occurredBefore: validTime(req.occurredBefore, "occurred_before") }),
  };
  if (filter.occurredFrom && filter.occurredBefore && filter.occurredBefore <= filter.occurredFrom) {
    throw fieldError("occurred_before", "must be after occurred_from");
  }
  return filter;
}

/** The filter as a page token records it, so a later page cannot switch to another filter. */
export const serialisedAuditFilter = (filter: AuditFilter): string =>
  JSON.stringify([filter.keyId, filter.action, filter.actorUserId, filter.actorKeyId, filter.occurredFrom?.toISOString(), filter.occurredBefore?.toISOString()]);
