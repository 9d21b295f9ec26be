import type { Organization } from "../../model/records.js";
import type { OrganizationRepository } from "../../store/store.js";

/**
 * The organizations one scheduler pass looks at, each read once in the pass however many of its
 * keys the pass meets. A new pass reads them again, so a setting changed meanwhile applies.
 */
export class OrganizationsOfPass {
  readonly #organizations: Pick<OrganizationRepository, "findById">;
  readonly #read = new Map<string, Promise<Organization | null>>();

  constructor(organizations: Pick<OrganizationRepository, "findById">) {
    this.#organizations = organizations;
  }

  /** Null when there is no such organization. */
  get(id: string): Promise<Organization | null> {
    let read = this.#read.get(id);
    if (read === undefined) {
      read = this.#organizations.findById(id);
      // A failed read is not kept: the next key of the organization asks again.
      read.catch(() => this.#read.delete(id));
      this.#read.set(id, read);
    }
    return read;
  }
}
