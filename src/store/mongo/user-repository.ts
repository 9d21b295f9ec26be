import type { Collection, IndexDescription } from "mongodb";
import type { UserRepository } from "../store.js";
import type { User } from "../types.js";
import { toDocument, type StoredRecord } from "./documents.js";
import { reportingDuplicates } from "./mongo-errors.js";

export type UserDocument = StoredRecord<User>;

const toRecord = (doc: UserDocument): User => ({
  id: doc._id,
  organizationId: doc.organizationId,
  name: doc.name,
  role: doc.role,
  createdAt: doc.createdAt,
});

export class MongoUserRepository implements UserRepository {
  static readonly indexes: IndexDescription[] = [
    // listByOrganization: an organization's users in id order.
    { key: { organizationId: 1, _id: 1 }, name: "organizationId_id" },
  ];

  readonly #users: Collection<UserDocument>;

  constructor(users: Collection<UserDocument>) {
    this.#users = users;
  }

  async create(user: User): Promise<void> {
    await reportingDuplicates(() => this.#users.insertOne(toDocument(user)), `user ${user.id}`);
  }

  async findById(organizationId: string, id: string): Promise<User | null> {
    const doc = await this.#users.findOne({ _id: id, organizationId });
    return doc && toRecord(doc);
  }

  async listByOrganization(organizationId: string): Promise<User[]> {
    const docs = await this.#users.find({ organizationId }).sort({ _id: 1 }).toArray();
    return docs.map(toRecord);
  }
}
