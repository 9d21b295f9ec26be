import type { UserChangeOutcome, UserListQuery, UserPatch, UserRepository } from "../store.js";
import type { User } from "../../model/records.js";
import { patchedLimits } from "../user-limits-patch.js";
import { copy } from "./copy.js";

export class MemoryUserRepository implements UserRepository {
  readonly #byId = new Map<string, User>();

  #get(organizationId: string, id: string): User | undefined {
    const user = this.#byId.get(id);
    return user && user.organizationId === organizationId ? user : undefined;
  }

  /** Whether another owner of the user's organization remains when this one stops being owner. */
  #anotherOwner(user: User): boolean {
    for (const other of this.#byId.values()) {
      if (other.organizationId === user.organizationId && other.role === "owner" && other.id !== user.id) return true;
    }
    return false;
  }

  async create(user: User): Promise<void> {
    if (this.#byId.has(user.id)) throw new Error(`duplicate user ${user.id}`);
    this.#byId.set(user.id, copy(user));
  }

  async findById(organizationId: string, id: string): Promise<User | null> {
    const user = this.#get(organizationId, id);
    return user ? copy(user) : null;
  }

  async listByOrganization(organizationId: string, query: UserListQuery = {}): Promise<User[]> {
    return [...this.#byId.values()]
      .filter((user) => user.organizationId === organizationId && (query.afterId === undefined || user.id > query.afterId))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, query.limit)
      .map(copy);
  }

  async update(organizationId: string, id: string, patch: UserPatch): Promise<UserChangeOutcome> {
    const user = this.#get(organizationId, id);
    if (!user) return { ok: false, reason: "not_found" };
    if (user.role === "owner" && patch.role !== undefined && patch.role !== "owner" && !this.#anotherOwner(user)) {
      return { ok: false, reason: "last_owner" };
    }
    if (patch.name !== undefined) user.name = patch.name;
    if (patch.role !== undefined) user.role = patch.role;
    if (patch.limits !== undefined) {
      const limits = patchedLimits(user.limits, patch.limits);
      // Like MongoDB's $set/$unset: clearing limits a user never had leaves no limits object.
      if (user.limits !== undefined || Object.keys(limits).length > 0) user.limits = limits;
    }
    return { ok: true, user: copy(user) };
  }

  async remove(organizationId: string, id: string): Promise<UserChangeOutcome> {
    const user = this.#get(organizationId, id);
    if (!user) return { ok: false, reason: "not_found" };
    if (user.role === "owner" && !this.#anotherOwner(user)) return { ok: false, reason: "last_owner" };
    this.#byId.delete(id);
    return { ok: true, user: copy(user) };
  }
}
