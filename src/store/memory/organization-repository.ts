import type { OrganizationRepository } from "../store.js";
import type { Organization } from "../../model/records.js";
import type { OrganizationSettings } from "../../model/webhooks.js";
import { copy } from "./copy.js";

export class MemoryOrganizationRepository implements OrganizationRepository {
  readonly #byId = new Map<string, Organization>();

  async create(organization: Organization): Promise<void> {
    if (this.#byId.has(organization.id)) throw new Error(`duplicate organization ${organization.id}`);
    this.#byId.set(organization.id, copy(organization));
  }

  async findById(id: string): Promise<Organization | null> {
    const organization = this.#byId.get(id);
    return organization ? copy(organization) : null;
  }

  async count(): Promise<number> {
    return this.#byId.size;
  }

  async setPlan(id: string, plan: string): Promise<Organization | null> {
    const organization = this.#byId.get(id);
    if (!organization) return null;
    organization.plan = plan;
    return copy(organization);
  }

  async updateSettings(id: string, patch: Partial<OrganizationSettings>): Promise<Organization | null> {
    const organization = this.#byId.get(id);
    if (!organization) return null;
    const given = Object.entries(copy(patch)).filter(([, value]) => value !== undefined);
    organization.settings = { ...organization.settings, ...Object.fromEntries(given) };
    return copy(organization);
  }

  async listDisablingUnusedKeys({ afterId, limit }: { afterId?: string; limit: number }): Promise<Organization[]> {
    // Few organizations, swept once an hour: a scan in id order is enough.
    return [...this.#byId.values()]
      .filter((organization) => (organization.settings?.disableUnusedKeysAfterDays ?? 0) > 0 && (afterId === undefined || organization.id > afterId))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map(copy);
  }
}
