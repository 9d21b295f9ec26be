import type { ClientSession, Collection, IndexDescription } from "mongodb";
import type { OrganizationRepository } from "../store.js";
import type { UnitOfWork } from "../unit-of-work.js";
import type { MongoUnit } from "./transactions.js";
import type { MongoChangeLogRepository } from "./change-log-repository.js";
import type { CheckReads } from "./check-reads.js";
import type { Organization } from "../../model/records.js";
import type { OrganizationSettings } from "../../model/webhooks.js";
import { toDocument, type StoredRecord } from "./documents.js";
import { reportingDuplicates } from "./mongo-errors.js";

export type OrganizationDocument = StoredRecord<Organization>;

const toRecord = (doc: OrganizationDocument): Organization => ({
  id: doc._id,
  name: doc.name,
  plan: doc.plan,
  createdAt: doc.createdAt,
  ...(doc.kind === "platform" && { kind: doc.kind }),
  ...(doc.settings !== undefined && { settings: doc.settings }),
});

export class MongoOrganizationRepository implements OrganizationRepository {
  /** Looked up by `_id`; the unused-keys sweep finds the few that disable unused keys by their setting. */
  static readonly indexes: IndexDescription[] = [
    {
      key: { "settings.disableUnusedKeysAfterDays": 1, _id: 1 },
      name: "disabling_unused_keys",
      partialFilterExpression: { "settings.disableUnusedKeysAfterDays": { $gt: 0 } },
    },
  ];

  readonly #organizations: Collection<OrganizationDocument>;
  readonly #changes: Pick<MongoChangeLogRepository, "append">;
  readonly #units: UnitOfWork<MongoUnit>;

  /** A plan change and its change-log entry (`changes`) commit together, in one unit of work. */
  readonly #checkReads: CheckReads;

  constructor(
    organizations: Collection<OrganizationDocument>,
    changes: Pick<MongoChangeLogRepository, "append">,
    units: UnitOfWork<MongoUnit>,
    checkReads: CheckReads,
  ) {
    this.#organizations = organizations;
    this.#changes = changes;
    this.#units = units;
    this.#checkReads = checkReads;
  }

  async create(organization: Organization): Promise<void> {
    await reportingDuplicates(
      () => this.#organizations.insertOne(toDocument(organization)),
      `organization ${organization.id}`,
    );
  }

  /** Check reads an organization (its plan) for every key it caches: a Check read. */
  async findById(id: string): Promise<Organization | null> {
    const doc = await this.#organizations.findOne({ _id: id }, this.#checkReads);
    return doc && toRecord(doc);
  }

  async count(): Promise<number> {
    return this.#organizations.countDocuments();
  }

  setPlan(id: string, plan: string): Promise<Organization | null> {
    return this.#units.atomically(async () => {
      const doc = await this.#organizations.findOneAndUpdate({ _id: id }, { $set: { plan } }, { returnDocument: "after" });
      if (doc === null) return null;
      await this.#changes.append({ kind: "organization", organizationId: id });
      return toRecord(doc);
    });
  }

  /** Field by field (`settings.<field>`), so two admins changing different settings at once both win. */
  async updateSettings(id: string, patch: Partial<OrganizationSettings>): Promise<Organization | null> {
    const fields = Object.entries(patch).filter(([, value]) => value !== undefined);
    if (fields.length === 0) return this.findById(id);
    const $set = Object.fromEntries(fields.map(([field, value]) => [`settings.${field}`, value]));
    const doc = await this.#organizations.findOneAndUpdate({ _id: id }, { $set }, { returnDocument: "after" });
    return doc && toRecord(doc);
  }

  async listDisablingUnusedKeys({ afterId, limit }: { afterId?: string; limit: number }): Promise<Organization[]> {
    const docs = await this.#organizations
      .find({ "settings.disableUnusedKeysAfterDays": { $gt: 0 }, ...(afterId !== undefined && { _id: { $gt: afterId } }) })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map(toRecord);
  }
}
