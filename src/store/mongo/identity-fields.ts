import type { Credits, IdentityRecord, NamedLimit } from "../../model/identities.js";
import type { StoredRecord } from "./documents.js";

/**
 * Identities as stored, and the limits and credits that keys and identities both hold: ids as
 * `_id`, times as BSON dates. Read field by field, so nothing but the record's own fields (not the
 * tie marker identity-repository.ts writes) ever leaves the store.
 */

/** `tiedAt`: when a key was last tied to it, written only so a racing deletion conflicts (IdentityRepository.tie). */
export type IdentityDocument = StoredRecord<IdentityRecord> & { tiedAt?: Date };

export const toNamedLimits = (limits: readonly NamedLimit[]): NamedLimit[] =>
  limits.map(({ name, limit, period }) => ({ name, limit, period }));

export const toCredits = (credits: Credits): Credits => ({
  remaining: credits.remaining,
  refill: credits.refill && { amount: credits.refill.amount, interval: credits.refill.interval, day: credits.refill.day },
  setAt: credits.setAt,
});

export const toIdentityRecord = (doc: IdentityDocument): IdentityRecord => ({
  id: doc._id,
  organizationId: doc.organizationId,
  externalId: doc.externalId,
  name: doc.name,
  meta: { ...doc.meta },
  limits: toNamedLimits(doc.limits),
  credits: doc.credits && toCredits(doc.credits),
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});
