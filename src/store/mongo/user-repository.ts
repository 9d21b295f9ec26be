import type { ClientSession, Collection, Filter, IndexDescription, UpdateFilter } from "mongodb";
import type { UnitOfWork } from "../unit-of-work.js";
import type { MongoUnit } from "./transactions.js";
import type { UserChangeOutcome, UserListQuery, UserPatch, UserRepository } from "../store.js";
import type { User, UserLimits } from "../../model/records.js";
import { toDocument, type StoredRecord } from "./documents.js";
import { reportingDuplicates } from "./mongo-errors.js";
import { OwnerCounts, type OwnerCountDocument } from "./owner-counts.js";

export type UserDocument = StoredRecord<User>;

const toLimits = (limits: UserLimits): UserLimits => ({
  ...(limits.maxKeys != null && { maxKeys: limits.maxKeys }),
  ...(limits.maxRateLimitPerMinute != null && { maxRateLimitPerMinute: limits.maxRateLimitPerMinute }),
  ...(limits.availableScopes != null && { availableScopes: [...limits.availableScopes] }),
  ...(limits.canCreateAdminKeys != null && { canCreateAdminKeys: limits.canCreateAdminKeys }),
});

/** Field by field, so nothing but the record's own fields ever leaves the store. */
const toRecord = (doc: UserDocument): User => ({
  id: doc._id,
  organizationId: doc.organizationId,
  name: doc.name,
  role: doc.role,
  createdAt: doc.createdAt,
  ...(doc.limits && { limits: toLimits(doc.limits) }),
});

/** The `$set`/`$unset` of a patch; null when it changes nothing. */
function updateOf(patch: UserPatch): UpdateFilter<UserDocument> | null {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ""> = {};
  if (patch.name !== undefined) set["name"] = patch.name;
  if (patch.role !== undefined) set["role"] = patch.role;
  for (const [field, value] of Object.entries(patch.limits ?? {})) {
    if (value === null) unset[`limits.${field}`] = "";
    else if (value !== undefined) set[`limits.${field}`] = value;
  }
  const update: Record<string, unknown> = {};
  if (Object.keys(set).length > 0) update["$set"] = set;
  if (Object.keys(unset).length > 0) update["$unset"] = unset;
  return Object.keys(update).length > 0 ? (update as UpdateFilter<UserDocument>) : null;
}

/** How often a change re-reads a user whose role another change moved under it. */
const CHANGE_ATTEMPTS = 5;

export class MongoUserRepository implements UserRepository {
  static readonly indexes: IndexDescription[] = [
    // listByOrganization: an organization's users in id order; counting its owners.
    { key: { organizationId: 1, _id: 1 }, name: "organizationId_id" },
  ];

  readonly #users: Collection<UserDocument>;
  readonly #owners: OwnerCounts;
  readonly #units: UnitOfWork<MongoUnit>;

  /** Each write runs as one unit of work: the user and the owner counter commit together (owner-counts.ts). */
  constructor(users: Collection<UserDocument>, ownerCounts: Collection<OwnerCountDocument>, units: UnitOfWork<MongoUnit>) {
    this.#users = users;
    this.#units = units;
    this.#owners = new OwnerCounts(
      ownerCounts,
      (organizationId) => users.countDocuments({ organizationId, role: "owner" }),
      () => units.context()?.session !== undefined,
    );
  }

  create(user: User): Promise<void> {
    return this.#units.atomically(async () => {
      if (user.role === "owner") await this.#owners.ensure(user.organizationId);
      await reportingDuplicates(() => this.#users.insertOne(toDocument(user)), `user ${user.id}`);
      if (user.role === "owner") await this.#owners.addOne(user.organizationId);
    });
  }

  async findById(organizationId: string, id: string): Promise<User | null> {
    const doc = await this.#users.findOne({ _id: id, organizationId });
    return doc && toRecord(doc);
  }

  async listByOrganization(organizationId: string, query: UserListQuery = {}): Promise<User[]> {
    const filter: Filter<UserDocument> = { organizationId };
    if (query.afterId !== undefined) filter._id = { $gt: query.afterId };
    let cursor = this.#users.find(filter).sort({ _id: 1 });
    if (query.limit !== undefined) cursor = cursor.limit(query.limit);
    return (await cursor.toArray()).map(toRecord);
  }

  update(organizationId: string, id: string, patch: UserPatch): Promise<UserChangeOutcome> {
    const update = updateOf(patch);
    return this.#units.atomically(() => this.#change(organizationId, id, patch.role, async (filter) => {
      if (update === null) return this.#users.findOne(filter);
      return this.#users.findOneAndUpdate(filter, update, { returnDocument: "after" });
    }));
  }

  remove(organizationId: string, id: string): Promise<UserChangeOutcome> {
    return this.#units.atomically(() => this.#change(organizationId, id, undefined, (filter) => this.#users.findOneAndDelete(filter), true));
  }

  /**
   * Reads the user, takes or adds an owner on the counter when the change affects one, then
   * writes only while the user still has the role just read; read again when it does not.
   */
  async #change(
    organizationId: string,
    id: string,
    newRole: User["role"] | undefined,
    write: (filter: Filter<UserDocument>) => Promise<UserDocument | null>,
    removing = false,
  ): Promise<UserChangeOutcome> {
    for (let attempt = 0; attempt < CHANGE_ATTEMPTS; attempt++) {
      const current = await this.#users.findOne({ _id: id, organizationId });
      if (current === null) return { ok: false, reason: "not_found" };
      const wasOwner = current.role === "owner";
      const losesOwner = wasOwner && (removing || (newRole !== undefined && newRole !== "owner"));
      const gainsOwner = !wasOwner && newRole === "owner";
      if (losesOwner || gainsOwner) await this.#owners.ensure(organizationId);
      if (losesOwner && !(await this.#owners.takeOneIfAnotherRemains(organizationId))) return { ok: false, reason: "last_owner" };
      const written = await write({ _id: id, organizationId, role: current.role });
      if (written !== null) {
        if (gainsOwner) await this.#owners.addOne(organizationId);
        return { ok: true, user: toRecord(written) };
      }
      // The user was removed or changed role in between: give the owner back and read again.
      if (losesOwner) await this.#owners.addOne(organizationId);
    }
    throw new Error(`user ${id} changed role ${CHANGE_ATTEMPTS} times during one change; nothing was changed`);
  }
}
