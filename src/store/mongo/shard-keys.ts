import type { COLLECTIONS } from "./mongo-store.js";

/**
 * How each collection lives on a sharded cluster, in one place: docs/operating.md ("Running on a
 * sharded cluster") gives the commands that follow from it, and test/store/mongo-shard-keys.test.ts
 * holds every query keygate sends to it: each query on a sharded collection fixes the fields that
 * route it, so mongos sends it to the shards that hold those values, never to all of them.
 *
 * Two kinds of collection:
 * - those that grow with traffic (usage by key and day, lifetime totals, budget windows, the
 *   audit trail) are sharded, each on a key that every one of its queries names and that an
 *   index keygate already builds serves, so sharding adds no index and no write;
 * - the key directory and what is written in the same transactions as it (slot and owner
 *   counters, the change log, idempotency receipts, users, organizations) stays unsharded, on
 *   the database's primary shard: its size grows with keys, not requests (about 1 KB per key),
 *   every query on it reaches one shard, and a transaction reaches another only for the two
 *   collections marked `inTransactions`.
 *   The key directory cannot simply be sharded: a key is found by the hash of its secret, which
 *   carries no routing information, and the two unique indexes on secret hashes (one key per
 *   secret) cannot be kept on a collection sharded by anything but that hash. docs/operating.md
 *   says what sharding it would take.
 */
export type CollectionName = (typeof COLLECTIONS)[keyof typeof COLLECTIONS];

export interface ShardedCollection {
  /** The shard key, ranged. */
  readonly shardKey: Readonly<Record<string, 1>>;
  /**
   * The leading shard key fields every query fixes (equality or `$in`), which is what routes it;
   * an upsert fixes the whole shard key.
   */
  readonly routedBy: readonly string[];
  /** The index keygate already builds that serves the shard key (shardCollection needs one). */
  readonly index: string;
  readonly why: string;
  /**
   * Why the collection may be part of a transaction, if it may: such a transaction spans the
   * primary shard and this collection's shard (see docs/operating.md). Others never are.
   */
  readonly inTransactions?: string;
}

export interface UnshardedCollection {
  readonly shardKey: null;
  readonly why: string;
}

export const SHARDING: Readonly<Record<CollectionName, ShardedCollection | UnshardedCollection>> = {
  usage_daily: {
    shardKey: { organizationId: 1, keyId: 1, day: 1 },
    routedBy: ["organizationId"],
    index: "organizationId_keyId_day",
    why: "keys × days of retention: the largest collection. Usage is read per organization, and a flush upserts each document by its whole key, spread over every key in use.",
  },
  usage_key_totals: {
    shardKey: { _id: 1 },
    routedBy: ["_id"],
    index: "_id_",
    why: "one document per key ever used, written by every flush; `_id` is `<organizationId>/<keyId>`, so an organization's totals sit together and are read by `$in` on `_id`.",
    inTransactions: "read by UpdateKey for its answer, inside the unit of a change sent with an idempotency key (admin/idempotent-changes.ts).",
  },
  budget_windows: {
    shardKey: { _id: 1 },
    routedBy: ["_id"],
    index: "_id_",
    why: "one document per bucket (key, organization minute, monthly quota) in use, leased by every replica at each window's start: the busiest writes, each by `_id`.",
  },
  debited_requests: {
    shardKey: { organizationId: 1, requestId: 1 },
    routedBy: ["organizationId", "requestId"],
    index: "organization_request",
    why: "one document per response whose reported cost was debited, written by every replica's access log and found by organization and request id; expire within hours.",
  },
  audit_events: {
    shardKey: { organizationId: 1, keyId: 1 },
    routedBy: ["organizationId"],
    index: "organizationId_keyId_id",
    why: "grows for good with admin activity; read per organization (and key). keyId splits a busy organization's events across chunks.",
    inTransactions: "a change sent with an idempotency key commits its audit entry in its unit (admin/idempotent-changes.ts).",
  },
  keys: { shardKey: null, why: "found by secret hash on the Check path and by organization on the admin path; unique secret hashes (see above)." },
  key_slots: { shardKey: null, why: "written in every key transaction; one small document per organization and owner." },
  owner_counts: { shardKey: null, why: "written in user transactions; one small document per organization." },
  users: { shardKey: null, why: "written in the same transactions as owner counts; admin-scale." },
  organizations: { shardKey: null, why: "one small document per organization, read by `_id` (and cached) by Check." },
  key_changes: { shardKey: null, why: "the change log replicas follow: written in key transactions, expires within minutes, read whole by recent() and watched." },
  deleted_keys: { shardKey: null, why: "written in the same transaction as the key delete; found by secret hash, which routes nothing; kept 90 days." },
  replicas: { shardKey: null, why: "one document per keygate replica; counted whole by every announcement." },
  idempotency_receipts: { shardKey: null, why: "written in the same transaction as the change they answer for; expire within a day." },
  webhook_endpoints: { shardKey: null, why: "a few per organization; read in the same transactions as the key changes whose events they take." },
  webhook_endpoint_counts: { shardKey: null, why: "written in the same transactions as webhook endpoints are created and deleted; one small document per organization." },
  webhook_events: { shardKey: null, why: "written in the same transaction as the change that caused each (key changes); only their ids are kept, for 35 days." },
  identity_counts: { shardKey: null, why: "written in the same transactions as identities are created and deleted (the plan's bound); one small document per organization." },
  identities: { shardKey: null, why: "customers of the organizations, admin-scale; written in the same transactions as the keys tied to them (a tie) and the change log." },
  webhook_deliveries: {
    shardKey: null,
    why: "written with their events in key transactions, and claimed by every replica's dispatcher across all organizations (by due time), which no organization-leading shard key would route.",
  },
};

export const isSharded = (entry: ShardedCollection | UnshardedCollection): entry is ShardedCollection => entry.shardKey !== null;

