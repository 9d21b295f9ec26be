import type { Collection, Filter, IndexDescription } from "mongodb";
import type { IdentityRecord } from "../../model/identities.js";
import type {
  CreateIdentityOutcome,
  DeleteIdentityOutcome,
  IdentityListQuery,
  IdentityPatch,
  IdentityRepository,
  UpdateIdentityOutcome,
} from "../identity-repository.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { MongoChangeLogRepository } from "./change-log-repository.js";
import { toDocument } from "./documents.js";
import { toIdentityRecord, type IdentityDocument } from "./identity-fields.js";
import type { KeyDocument } from "./key-document.js";
import { isDuplicateKeyError } from "./mongo-errors.js";
import { OrganizationCounts, type OrganizationCountDocument } from "./organization-counts.js";
import type { MongoUnit } from "./transactions.js";

/**
 * Identities on MongoDB. Each write is one unit of work: an identity whose limits or credits
 * change, or which is deleted, commits with its change-log entry, so other replicas drop what they
 * cached of it. An external id is looked for before it is written, so a repeat is answered as an
 * outcome rather than a failed write (which would abort the caller's transaction); the unique
 * index still stops two racing writers, one of which then fails and its unit runs again. The plan's
 * bound on identities is kept by a per-organization counter (organization-counts.ts).
 */
export class MongoIdentityRepository implements IdentityRepository {
  static readonly indexes: IndexDescription[] = [
    // An external id names one identity of an organization; ListIdentities' external_id filter.
    { key: { organizationId: 1, externalId: 1 }, name: "organizationId_externalId_unique", unique: true },
    // list: an organization's identities in id (creation) order after a cursor.
    { key: { organizationId: 1, _id: 1 }, name: "organizationId_id" },
  ];

  readonly #identities: Collection<IdentityDocument>;
  /** The keys collection: delete counts the keys tied to an identity (index organizationId_identityId_id). */
  readonly #keys: Collection<KeyDocument>;
  readonly #changes: Pick<MongoChangeLogRepository, "append">;
  readonly #units: UnitOfWork<MongoUnit>;
  readonly #counts: OrganizationCounts;

  constructor(
    identities: Collection<IdentityDocument>,
    counts: Collection<OrganizationCountDocument>,
    keys: Collection<KeyDocument>,
    changes: Pick<MongoChangeLogRepository, "append">,
    units: UnitOfWork<MongoUnit>,
  ) {
    this.#identities = identities;
    this.#keys = keys;
    this.#changes = changes;
    this.#units = units;
    this.#counts = new OrganizationCounts(counts, "identities", (organizationId) => identities.countDocuments({ organizationId }), () => this.#inTransaction());
  }

  create(identity: IdentityRecord, limits: { maxPerOrganization: number }): Promise<CreateIdentityOutcome> {
    return this.#units.atomically(async () => {
      const { organizationId } = identity;
      if (await this.#externalIdTaken(organizationId, identity.externalId)) return { ok: false, reason: "external_id_taken" };
      await this.#counts.ensure(organizationId);
      if (!(await this.#counts.take(organizationId, limits.maxPerOrganization))) return { ok: false, reason: "limit_reached" };
      try {
        await this.#identities.insertOne(toDocument(identity));
      } catch (error) {
        // Without a transaction nothing takes the place back but this.
        if (!this.#inTransaction()) await this.#counts.release(organizationId);
        if (isDuplicateKeyError(error) && !this.#inTransaction()) return { ok: false, reason: "external_id_taken" };
        throw error;
      }
      return { ok: true, identity: structuredClone(identity) };
    });
  }

  async findById(organizationId: string, id: string): Promise<IdentityRecord | null> {
    const doc = await this.#identities.findOne({ _id: id, organizationId });
    return doc && toIdentityRecord(doc);
  }

  async list(organizationId: string, query: IdentityListQuery): Promise<IdentityRecord[]> {
    const filter: Filter<IdentityDocument> = { organizationId };
    if (query.externalId !== undefined) filter.externalId = query.externalId;
    if (query.afterId !== undefined) filter._id = { $gt: query.afterId };
    const docs = await this.#identities.find(filter).sort({ _id: 1 }).limit(query.limit).toArray();
    return docs.map(toIdentityRecord);
  }

  update(organizationId: string, id: string, patch: IdentityPatch): Promise<UpdateIdentityOutcome> {
    return this.#units.atomically(async () => {
      if (patch.externalId !== undefined && (await this.#externalIdTaken(organizationId, patch.externalId, id))) {
        return { ok: false, reason: "external_id_taken" };
      }
      const set: Record<string, unknown> = {};
      for (const [field, value] of Object.entries(patch)) if (value !== undefined) set[field] = value;
      let updated: IdentityDocument | null;
      try {
        updated = await this.#identities.findOneAndUpdate({ _id: id, organizationId }, { $set: set }, { returnDocument: "after" });
      } catch (error) {
        if (isDuplicateKeyError(error) && !this.#inTransaction()) return { ok: false, reason: "external_id_taken" };
        throw error;
      }
      if (updated === null) return { ok: false, reason: "not_found" };
      if (patch.limits !== undefined || patch.credits !== undefined) {
        await this.#changes.append({ kind: "identity", organizationId, identityId: id });
      }
      return { ok: true, identity: toIdentityRecord(updated) };
    });
  }

  delete(organizationId: string, id: string): Promise<DeleteIdentityOutcome> {
    return this.#units.atomically(async () => {
      const keys = await this.#keys.countDocuments({ organizationId, identityId: id, revokedAt: null });
      if (keys > 0) {
        const exists = await this.#identities.countDocuments({ _id: id, organizationId }, { limit: 1 });
        return exists ? { ok: false, reason: "in_use", keys } : { ok: false, reason: "not_found" };
      }
      await this.#counts.ensure(organizationId);
      const deleted = await this.#identities.findOneAndDelete({ _id: id, organizationId });
      if (deleted === null) return { ok: false, reason: "not_found" };
      await this.#counts.release(organizationId);
      await this.#changes.append({ kind: "identity", organizationId, identityId: id });
      return { ok: true, identity: toIdentityRecord(deleted) };
    });
  }

  async tie(organizationId: string, id: string): Promise<boolean> {
    const result = await this.#identities.updateOne({ _id: id, organizationId }, { $currentDate: { tiedAt: true } });
    return result.matchedCount === 1;
  }

  async #externalIdTaken(organizationId: string, externalId: string, exceptId?: string): Promise<boolean> {
    const filter: Filter<IdentityDocument> = { organizationId, externalId };
    if (exceptId !== undefined) filter._id = { $ne: exceptId };
    return (await this.#identities.countDocuments(filter, { limit: 1 })) > 0;
  }

  #inTransaction(): boolean {
    return this.#units.context()?.session !== undefined;
  }
}
