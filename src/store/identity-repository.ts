import type { Credits, IdentityRecord } from "../model/identities.js";

/** Fields UpdateIdentity may change; absent fields stay as they are, `credits: null` removes them. */
export interface IdentityPatch {
  externalId?: string;
  name?: string;
  meta?: Record<string, string>;
  limits?: IdentityRecord["limits"];
  credits?: Credits | null;
  updatedAt: Date;
}

/** `limit_reached`: the organization holds its plan's maximum of identities; nothing was written. */
export type CreateIdentityOutcome = { ok: true; identity: IdentityRecord } | { ok: false; reason: "external_id_taken" | "limit_reached" };

export type UpdateIdentityOutcome = { ok: true; identity: IdentityRecord } | { ok: false; reason: "not_found" | "external_id_taken" };

/** `in_use`: keys that are not revoked are tied to it (`keys` of them); nothing was deleted. */
export type DeleteIdentityOutcome =
  | { ok: true; identity: IdentityRecord }
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "in_use"; keys: number };

export interface IdentityListQuery {
  /** Only the identity with this external id. */
  externalId?: string;
  /** Return identities whose id sorts after this one (ids sort by creation time). */
  afterId?: string;
  limit: number;
}

/**
 * An organization's identities (model/identities.ts). Every query names the organization, and an
 * external id is unique within one: a create or an update that would repeat one is refused in the
 * same atomic step as the write. Each write that changes what a Check decides (limits, credits,
 * deletion) appends its change-log entry (`{kind: "identity"}`) in the same unit of work.
 */
export interface IdentityRepository {
  /**
   * Refused when the organization already holds `limits.maxPerOrganization` identities, decided in
   * the same atomic step as the write, so concurrent creations never pass the bound together.
   */
  create(identity: IdentityRecord, limits: { maxPerOrganization: number }): Promise<CreateIdentityOutcome>;
  findById(organizationId: string, id: string): Promise<IdentityRecord | null>;
  /** The organization's identities in id (creation) order. */
  list(organizationId: string, query: IdentityListQuery): Promise<IdentityRecord[]>;
  update(organizationId: string, id: string, patch: IdentityPatch): Promise<UpdateIdentityOutcome>;
  /**
   * Removes the identity unless keys that are not revoked are tied to it (revoked keys keep their
   * identity id, for the record). Inside a unit that also ties a key (tie), one of the two waits
   * for or loses to the other, so a key is never left tied to an identity deleted at once.
   */
  delete(organizationId: string, id: string): Promise<DeleteIdentityOutcome>;
  /**
   * Whether the identity exists, asked by the unit of work that ties a key to it: on MongoDB it
   * writes to the identity's document, so a deletion in a concurrent transaction conflicts with
   * the tie instead of both committing (a read alone would let both pass).
   */
  tie(organizationId: string, id: string): Promise<boolean>;
}
