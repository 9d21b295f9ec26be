import type { IndexDescription } from "mongodb";
import { KeyWalks } from "./key-walks.js";

/** The keys collection's indexes: each names the queries of key-repository.ts (and key-walks.ts) it serves. */
export const KEY_INDEXES: IndexDescription[] = [
  // findByHash, and no two keys share a secret (a clash fails create and replaceSecret).
  { key: { secretHash: 1 }, name: "secretHash_unique", unique: true },
  // findByHash during a rotation's grace period; only rotated keys have the field.
  {
    key: { "previousSecret.hash": 1 },
    name: "previousSecretHash_unique",
    unique: true,
    partialFilterExpression: { "previousSecret.hash": { $type: "string" } },
  },
  // list: an organization's keys in id (creation) order after a cursor; countByState's total.
  { key: { organizationId: 1, _id: 1 }, name: "organizationId_id" },
  // list in name order (ties by id), either way, after a cursor.
  { key: { organizationId: 1, name: 1, _id: 1 }, name: "organizationId_name_id" },
  // list filtered on isActive; countByState's active count.
  { key: { organizationId: 1, isActive: 1, _id: 1 }, name: "organizationId_isActive_id" },
  // list of one owner's keys: what RemoveUser disables or hands on.
  { key: { organizationId: 1, ownerUserId: 1, _id: 1 }, name: "organizationId_ownerUserId_id" },
  // list of an identity's keys (GetIdentityUsage); DeleteIdentity counts those not revoked.
  { key: { organizationId: 1, identityId: 1, _id: 1 }, name: "organizationId_identityId_id", partialFilterExpression: { identityId: { $type: "string" } } },
  ...KeyWalks.indexes,
];
