import type { IdentityRecord } from "../../model/identities.js";
import type {
  CreateIdentityOutcome,
  DeleteIdentityOutcome,
  IdentityListQuery,
  IdentityPatch,
  IdentityRepository,
  UpdateIdentityOutcome,
} from "../identity-repository.js";
import { copy } from "./copy.js";

/** How the repository learns which keys hold an identity (MemoryKeyRepository.tiedTo). */
export type TiedKeys = (organizationId: string, identityId: string) => number;

/**
 * Identities in process memory. Each write reads and writes without awaiting in between, so on
 * Node's single thread it is atomic; one process sees every change itself, so no change-log entry
 * is kept (the embedded change log keeps nothing).
 */
export class MemoryIdentityRepository implements IdentityRepository {
  /** Each organization's identities by id. */
  readonly #identities = new Map<string, Map<string, IdentityRecord>>();
  /** Each organization's identity ids by external id. */
  readonly #byExternalId = new Map<string, Map<string, string>>();
  readonly #tiedKeys: TiedKeys;

  constructor(tiedKeys: TiedKeys) {
    this.#tiedKeys = tiedKeys;
  }

  async create(identity: IdentityRecord, limits: { maxPerOrganization: number }): Promise<CreateIdentityOutcome> {
    const { organizationId } = identity;
    const external = this.#externalIds(organizationId);
    if (external.has(identity.externalId)) return { ok: false, reason: "external_id_taken" };
    const identities = this.#of(organizationId);
    if (identities.size >= limits.maxPerOrganization) return { ok: false, reason: "limit_reached" };
    if (identities.has(identity.id)) throw new Error(`duplicate identity ${identity.id}`);
    identities.set(identity.id, copy(identity));
    external.set(identity.externalId, identity.id);
    return { ok: true, identity: copy(identity) };
  }

  async findById(organizationId: string, id: string): Promise<IdentityRecord | null> {
    const identity = this.#identities.get(organizationId)?.get(id);
    return identity ? copy(identity) : null;
  }

  async list(organizationId: string, query: IdentityListQuery): Promise<IdentityRecord[]> {
    let identities = [...(this.#identities.get(organizationId)?.values() ?? [])];
    if (query.externalId !== undefined) identities = identities.filter((identity) => identity.externalId === query.externalId);
    if (query.afterId !== undefined) identities = identities.filter((identity) => identity.id > query.afterId!);
    return identities
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, query.limit)
      .map(copy);
  }

  async update(organizationId: string, id: string, patch: IdentityPatch): Promise<UpdateIdentityOutcome> {
    const identity = this.#identities.get(organizationId)?.get(id);
    if (!identity) return { ok: false, reason: "not_found" };
    const external = this.#externalIds(organizationId);
    if (patch.externalId !== undefined && patch.externalId !== identity.externalId) {
      if (external.has(patch.externalId)) return { ok: false, reason: "external_id_taken" };
      external.delete(identity.externalId);
      external.set(patch.externalId, id);
    }
    for (const [field, value] of Object.entries(copy(patch))) {
      if (value !== undefined) (identity as unknown as Record<string, unknown>)[field] = value;
    }
    return { ok: true, identity: copy(identity) };
  }

  async delete(organizationId: string, id: string): Promise<DeleteIdentityOutcome> {
    const identity = this.#identities.get(organizationId)?.get(id);
    if (!identity) return { ok: false, reason: "not_found" };
    const keys = this.#tiedKeys(organizationId, id);
    if (keys > 0) return { ok: false, reason: "in_use", keys };
    this.#identities.get(organizationId)!.delete(id);
    this.#externalIds(organizationId).delete(identity.externalId);
    return { ok: true, identity };
  }

  async tie(organizationId: string, id: string): Promise<boolean> {
    return this.#identities.get(organizationId)?.has(id) ?? false;
  }

  #of(organizationId: string): Map<string, IdentityRecord> {
    let identities = this.#identities.get(organizationId);
    if (!identities) this.#identities.set(organizationId, (identities = new Map()));
    return identities;
  }

  #externalIds(organizationId: string): Map<string, string> {
    let external = this.#byExternalId.get(organizationId);
    if (!external) this.#byExternalId.set(organizationId, (external = new Map()));
    return external;
  }
}
