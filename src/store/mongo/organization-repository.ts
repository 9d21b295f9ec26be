import type { Collection, IndexDescription } from "mongodb";
import type { OrganizationRepository } from "../store.js";
import type { Organization } from "../../model/records.js";
import { toDocument, type StoredRecord } from "./documents.js";
import { reportingDuplicates } from "./mongo-errors.js";

export type OrganizationDocument = StoredRecord<Organization>;

const toRecord = (doc: OrganizationDocument): Organization => ({
  id: doc._id,
  name: doc.name,
  plan: doc.plan,
  createdAt: doc.createdAt,
  ...(doc.kind === "platform" && { kind: doc.kind }),
});

export class MongoOrganizationRepository implements OrganizationRepository {
  /** Organizations are only looked up by `_id`. */
  static readonly indexes: IndexDescription[] = [];

  readonly #organizations: Collection<OrganizationDocument>;

  constructor(organizations: Collection<OrganizationDocument>) {
    this.#organizations = organizations;
  }

  async create(organization: Organization): Promise<void> {
    await reportingDuplicates(
      () => this.#organizations.insertOne(toDocument(organization)),
      `organization ${organization.id}`,
    );
  }

  async findById(id: string): Promise<Organization | null> {
    const doc = await this.#organizations.findOne({ _id: id });
    return doc && toRecord(doc);
  }

  async count(): Promise<number> {
    return this.#organizations.countDocuments();
  }

  async setPlan(id: string, plan: string): Promise<Organization | null> {
    const doc = await this.#organizations.findOneAndUpdate({ _id: id }, { $set: { plan } }, { returnDocument: "after" });
    return doc && toRecord(doc);
  }
}
