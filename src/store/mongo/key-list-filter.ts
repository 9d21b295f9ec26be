import type { Filter, Sort } from "mongodb";
import type { KeyState } from "../../model/key-state.js";
import { isDescending, isNameOrder, type KeyListQuery } from "../key-list-query.js";
import type { KeyDocument } from "./key-document.js";

/**
 * The find of KeyRepository.list: every clause starts from the organization, so the scan is
 * bounded to its keys on an index that starts with it (key-indexes.ts), read in the order asked,
 * never sorted in memory (test/store/mongo-query-plans-key-list.test.ts).
 */
export function keyListFind(organizationId: string, query: KeyListQuery): { filter: Filter<KeyDocument>; sort: Sort; hint?: string } {
  const order = query.order ?? "created_asc";
  const direction = isDescending(order) ? -1 : 1;
  const clauses: Filter<KeyDocument>[] = [];
  if (query.isActive !== undefined) clauses.push({ isActive: query.isActive });
  if (query.ownerUserId !== undefined) clauses.push({ ownerUserId: query.ownerUserId });
  if (query.identityId !== undefined) clauses.push({ identityId: query.identityId });
  if (query.state !== undefined) clauses.push(inState(query.state.is, query.state.now));
  if (query.search !== undefined) clauses.push(matching(query.search));
  if (query.afterId !== undefined) {
    const beyond = direction === 1 ? "$gt" : "$lt";
    clauses.push(
      isNameOrder(order)
        ? { $or: [{ name: { [beyond]: query.afterName } }, { name: query.afterName, _id: { [beyond]: query.afterId } }] }
        : { _id: { [beyond]: query.afterId } },
    );
  }
  const filter: Filter<KeyDocument> = clauses.length === 0 ? { organizationId } : { organizationId, $and: clauses };
  if (!isNameOrder(order)) return { filter, sort: { _id: direction } };
  // Named, since for a selective state the planner would rather read organizationId_isActive_id
  // and sort every match in memory: the name index gives the page in order, whatever matches.
  return { filter, sort: { name: direction, _id: direction }, hint: "organizationId_name_id" };
}

/** keyState's rule (src/model/key-state.ts) as a filter: revoked, then disabled, then expired. */
function inState(state: KeyState, now: Date): Filter<KeyDocument> {
  switch (state) {
    case "revoked":
      return { revokedAt: { $ne: null } };
    case "disabled":
      return { revokedAt: null, isActive: false };
    case "expired":
      return { revokedAt: null, isActive: true, expiresAt: { $ne: null, $lte: now } };
    case "active":
      return { revokedAt: null, isActive: true, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] };
  }
}

/** The search as a case-insensitive prefix, its text escaped so nothing in it acts as a pattern. */
function matching(search: string): Filter<KeyDocument> {
  const prefix = { $regex: `^${search.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")}`, $options: "i" };
  return { $or: [{ _id: search }, { name: prefix }, { keyPrefix: prefix }] };
}
